// Generates libs/proto/src from proto/ with ts-proto. `--out DIR` writes
// elsewhere (used by the drift test to compare with the committed code).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : join(root, 'libs/proto/src/gen');
const protoRoot = join(root, 'proto');

const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.proto')) files.push(relative(protoRoot, p));
  }
})(protoRoot);

mkdirSync(out, { recursive: true });
const bin = join(root, 'node_modules/.bin');
execFileSync(
  join(bin, 'protoc'),
  [
    `--plugin=protoc-gen-ts_proto=${join(bin, 'protoc-gen-ts_proto')}`,
    `--ts_proto_out=${out}`,
    '--ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,oneof=unions-value,env=node,forceLong=number,useDate=false,useOptionals=none,importSuffix=.js',
    `--proto_path=${protoRoot}`,
    ...files,
  ],
  { stdio: 'inherit', cwd: root },
);
