/** `emit` writes schema.graphql from the code; `check` fails when the committed file has drifted. */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { printGraphQLSchema } from '../server/graphql/schema.js';

const file = resolve(import.meta.dirname, '..', 'schema.graphql');
const mode = process.argv[2];
const printed = await printGraphQLSchema();
if (mode === 'emit') {
  writeFileSync(file, printed);
  console.log(`wrote ${file}`);
} else if (mode === 'check') {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // missing counts as drift
  }
  if (committed !== printed) {
    console.error('schema.graphql differs from the schema the code builds: run `npm run schema:emit` and commit it.');
    process.exit(1);
  }
  console.log('schema.graphql matches the code');
} else {
  console.error('usage: tsx scripts/schema.ts emit|check');
  process.exit(2);
}
