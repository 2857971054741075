// Shared set-up for the end-to-end tests: a static server for dist/ on
// 127.0.0.1 and Debian's Chromium driven by playwright-core.
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const dist = join(root, 'dist');
export const screenshots = join(root, 'tests', 'screenshots');

const types = {
  '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml',
};

/** Serves dist/ like any static file server would, under `prefix`.
 *  Resolves to { url, close }. */
export async function serveDist({ prefix = '/' } = {}) {
  const server = createServer(async (req, res) => {
    const full = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (!full.startsWith(prefix)) { res.writeHead(404).end('not found'); return; }
    const path = normalize('/' + full.slice(prefix.length));
    const file = join(dist, path.endsWith('/') ? join(path, 'index.html') : path);
    if (!file.startsWith(dist)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}${prefix}`, close: () => new Promise((ok) => server.close(ok)) };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Saves a screenshot under tests/screenshots and says where. */
export async function screenshot(page, name) {
  await mkdir(screenshots, { recursive: true });
  const path = join(screenshots, `${name}.png`);
  await page.screenshot({ path });
  console.log(`screenshot: ${path}`);
  return path;
}

/** Every node's test hooks: id, role, term, down. */
export const nodes = (page) => page.$$eval('g[data-testid^="node-"]', (els) => els.map((e) => ({
  id: Number(e.dataset.testid.replace('node-', '')), role: e.dataset.role,
  term: Number(e.dataset.term), down: e.dataset.down === 'true',
})));

/** Waits for exactly one live leader; returns it. */
export async function waitForLeader(page, { higherThan = 0, timeout = 30_000 } = {}) {
  await page.waitForFunction((min) => {
    const live = [...document.querySelectorAll('g[data-testid^="node-"][data-down="false"]')];
    return live.some((e) => e.dataset.role === 'leader' && Number(e.dataset.term) > min);
  }, higherThan, { timeout, polling: 50 });
  const all = await nodes(page);
  return all.filter((n) => !n.down && n.role === 'leader').sort((a, b) => b.term - a.term)[0];
}

/** Opens the page with errors collected; speeds the run up for tests. */
export async function open(browser, server, { speed = '0.2' } = {}) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('dialog', (d) => d.accept()); // "start a new cluster?" — yes
  await page.goto(server.url);
  await page.waitForSelector('g[data-testid="node-1"]');
  await page.waitForSelector('[data-testid="storage"]:not([data-state="opening"])');
  if (speed) await page.selectOption('[data-testid="speed"]', speed);
  return page;
}

export const chatTexts = (page, id) => page.$$eval(
  `[data-testid="chat-pane-${id}"] [data-testid="chat-message"]`, (els) => els.map((e) => e.textContent));

/** Selects node `id` in the cluster and clicks an inspector action. */
export async function nodeAction(page, id, action) {
  const node = `g[data-testid="node-${id}"]`;
  const selected = () => page.$eval(node, (e) => e.classList.contains('selected'));
  // A message passing over the node can take the click (and be dropped):
  // click again until the node is selected (bounded).
  for (let i = 0; i < 5 && !(await selected()); i++) {
    await page.click(node);
  }
  assert.ok(await selected(), `node ${id} could not be selected`);
  await page.click(`[data-testid="inspect-${action}"]`);
}

/** Presses Step once and waits until it has happened: the event count
 *  changed and no write waits for IndexedDB. (Steps clicked while one waits
 *  for the disk pile up and then run on together.) */
export async function stepOnce(page) {
  const before = await page.$eval('[data-testid="event-count"]', (e) => parseInt(e.textContent, 10));
  await page.click('[data-testid="step"]');
  await page.waitForFunction((n) => !document.querySelector('[data-testid="waiting-for-disk"]')
    && parseInt(document.querySelector('[data-testid="event-count"]').textContent, 10) !== n, before, { timeout: 10_000 });
}

/** Types `text` into node `id`'s chat input and sends it (Enter). */
export async function send(page, id, text) {
  await page.fill(`[data-testid="chat-input-${id}"]`, text);
  await page.press(`[data-testid="chat-input-${id}"]`, 'Enter');
}
