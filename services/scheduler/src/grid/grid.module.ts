import { Module } from '@nestjs/common';
import { GridController } from './grid.controller.js';
import { GridService } from './grid.service.js';

/** The grid view's summary endpoint (`GET /api/v1/jobs/{name}/grid`). */
@Module({ controllers: [GridController], providers: [GridService] })
export class GridModule {}
