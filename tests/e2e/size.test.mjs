// The release build is a static dist/ whose page wasm is at most 300 KB
// gzipped (goal 250 KB); the experiments' worker has a wasm of its own,
// loaded only when an experiment runs. Prints both sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { dist, serveDist, launch, open, waitForLeader, screenshot } from './harness.mjs';

test('the release wasm is at most 300 KB gzipped', async () => {
  const files = await readdir(dist);
  const wasm = files.filter((f) => f.endsWith('.wasm'));
  const page = wasm.filter((f) => /^raftchat-app-[0-9a-f]+_bg\.wasm$/.test(f));
  assert.equal(page.length, 1, `one page wasm in dist/: ${wasm}`);
  assert.deepEqual(wasm.filter((f) => !page.includes(f)), ['raftchat-worker_bg.wasm'], 'and the worker\'s');
  for (const f of ['raftchat-worker.js', 'raftchat-worker_loader.js']) assert.ok(files.includes(f), `${f} in dist/`);
  const bytes = await readFile(join(dist, page[0]));
  const gz = gzipSync(bytes, { level: 9 }).length;
  const worker = await readFile(join(dist, 'raftchat-worker_bg.wasm'));
  console.log(`release wasm: ${(bytes.length / 1024).toFixed(0)} KB, ${(gz / 1024).toFixed(1)} KB gzipped (limit 300 KB, goal 250 KB); the experiments' worker: ${(worker.length / 1024).toFixed(0)} KB, ${(gzipSync(worker, { level: 9 }).length / 1024).toFixed(0)} KB gzipped`);
  assert.ok(gz <= 300 * 1024, `${gz} bytes gzipped`);
  // Everything dist/ needs is in dist/: index.html names only files that exist.
  const html = await readFile(join(dist, 'index.html'), 'utf8');
  for (const [, ref] of html.matchAll(/(?:href|src)="(?:\.?\/)?([^"#?]+)"/g)) {
    if (/^(https?:)?\/\//.test(ref)) assert.fail(`index.html loads ${ref} from elsewhere`);
    const present = await stat(join(dist, ref)).then((s) => s.isFile(), () => false);
    assert.ok(present, `index.html refers to ${ref}, which is in dist/`);
  }
});

test('dist/ works from a static server at any path', async () => {
  const server = await serveDist({ prefix: '/class/raftchat/' });
  const browser = await launch();
  try {
    const page = await open(browser, server);
    await waitForLeader(page);
    await screenshot(page, 'served-at-a-sub-path');
    assert.deepEqual(page.errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
