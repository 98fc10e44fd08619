/** Rewrites the generated API reference in docs/api.md from the OpenAPI document: `node dist/src/api/write-reference.js`. */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { apiDocument } from './server.js';
import { renderReference, replaceReference } from './reference.js';

const file = fileURLToPath(new URL('../../../docs/api.md', import.meta.url));
const text = readFileSync(file, 'utf8');
const next = replaceReference(text, renderReference(apiDocument()));
if (next !== text) writeFileSync(file, next);
console.log(next === text ? 'docs/api.md is current' : 'docs/api.md: reference rewritten');
