import { type DynamicModule, Global, Module } from '@nestjs/common';
import { Database } from './database.js';

/** Provides the opened `Database` to every module of a process. */
@Global()
@Module({})
export class PersistenceModule {
  static forDatabase(db: Database): DynamicModule {
    return {
      module: PersistenceModule,
      providers: [{ provide: Database, useValue: db }],
      exports: [Database],
    };
  }
}
