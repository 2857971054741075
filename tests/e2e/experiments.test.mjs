// The Experiments panel: the paper's election experiment run in the page's
// worker (ten curves, the CSV, the same numbers as raftchat-sim), a trial
// opened as a run, cancelling, bad input, the replicas lines, and the figure
// readable in projector mode.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { serveDist, launch, open, waitForLeader, nodes, screenshot } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const RANGES = ['150-150', '150-151', '150-155', '150-175', '150-200', '150-300', '12-24', '25-50', '50-100', '100-200'];
const progress = (page) => page.$eval('[data-testid="experiment-progress"]', (e) => ({ done: Number(e.dataset.done), total: Number(e.dataset.total) }));
const series = (page) => page.$$eval('[data-testid="experiment-plot"] path[data-series]', (els) => els.map((e) => e.dataset.series));
const clockMs = async (page) => Math.round(parseFloat(await page.textContent('[data-testid="clock"]')) * 1000);

async function runExperiment(page, kind, trials) {
  await page.selectOption('[data-testid="experiment-kind"]', kind);
  await page.fill('[data-testid="experiment-trials"]', String(trials));
  const t0 = Date.now();
  await page.click('[data-testid="run-experiment"]');
  return t0;
}

test('elections at 50 trials per range: ten curves, the CSV the CLI prints, a trial opened as a run', async () => {
  const page = await open(browser, server, { speed: '1' });
  await page.click('[data-testid="experiments-toggle"]');
  await page.waitForSelector('[data-testid="experiments"]');
  const t0 = await runExperiment(page, 'elections', 50);
  // Curves appear while it runs, then all ten.
  await page.waitForFunction(() => {
    const e = document.querySelector('[data-testid="experiment-progress"]');
    return e && Number(e.dataset.done) === Number(e.dataset.total) && Number(e.dataset.total) === 500
      && document.querySelector('[data-testid="open-trial"]');
  }, null, { timeout: 120_000, polling: 100 });
  console.log(`elections experiment, 50 trials per range (500 trials) in the page's worker: ${((Date.now() - t0) / 1000).toFixed(1)} s in headless Chromium`);
  assert.deepEqual((await series(page)).sort(), [...RANGES].sort());
  assert.equal(await page.isEnabled('[data-testid="run-experiment"]'), true);
  assert.equal(await page.isDisabled('[data-testid="cancel-experiment"]'), true);
  // Axes with units, a legend, and the log scale said.
  const text = await page.textContent('[data-testid="experiment-plot"]');
  for (const words of ['time without a leader (ms) (log scale)', 'trials with a leader (%)', '150-155 ms', '12-24 ms']) {
    assert.ok(text.includes(words), `the figure says "${words}"`);
  }
  await screenshot(page, 'experiment-elections');
  // The CSV: a line per trial, and exactly what the CLI prints for the same seed.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="experiment-csv"]')]);
  assert.equal(download.suggestedFilename(), 'raftchat-elections-50-trials.csv');
  const csv = await readFile(await download.path(), 'utf8');
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], 'range,trial,downtime_ms');
  assert.equal(lines.length, 501);
  for (const line of lines.slice(1)) assert.match(line, /^\d+-\d+,\d+,(\d+|censored)$/);
  const cli = fileURLToPath(new URL('../../target/release/raftchat-sim', import.meta.url));
  const expected = execFileSync(cli, ['--experiment', 'elections', '--trials', '50', '--csv'], { encoding: 'utf8' });
  assert.equal(csv, expected, 'the page\'s CSV is the CLI\'s');

  // Open the slowest 150-155 ms trial as a run: the leader has just crashed.
  const options = await page.$$eval('[data-testid="trial-choice"] option', (els) => els.map((e) => ({ value: e.value, label: e.textContent })));
  assert.equal(options.length, 20, 'the slowest and the median trial of each range');
  const slowest = options.find((o) => o.label.startsWith('150-155 ms, slowest'));
  const [, downtime, trial] = slowest.label.match(/: (\d+) ms \(trial (\d+)\)/);
  const csvDowntime = lines.find((l) => l.startsWith(`150-155,${trial},`)).split(',')[2];
  assert.equal(csvDowntime, downtime, 'the label is the trial\'s CSV line');
  assert.equal(Math.max(...lines.filter((l) => l.startsWith('150-155,')).map((l) => Number(l.split(',')[2]))), Number(downtime));
  await page.selectOption('[data-testid="trial-choice"]', slowest.value);
  await page.click('[data-testid="open-trial"]');
  await page.waitForFunction(() => document.querySelectorAll('g[data-testid^="node-"][data-down="true"]').length === 1, null, { timeout: 10_000 });
  const crashedAt = await clockMs(page);
  const before = await nodes(page);
  assert.equal(before.length, 5);
  assert.equal(before.filter((n) => n.role === 'leader' && !n.down).length, 0, 'no leader right after the crash');
  const oldTerm = Math.max(...before.map((n) => n.term));
  await page.click('[data-testid="play-pause"]');
  const leader = await waitForLeader(page, { higherThan: oldTerm - 1, timeout: 30_000 });
  assert.ok(!before.find((n) => n.id === leader.id).down);
  assert.ok(await clockMs(page) - crashedAt >= Number(downtime), 'the new leader comes no sooner than in the trial');
  // The panel stays, with its results, to open another trial.
  assert.deepEqual((await series(page)).length, 10);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('cancel stops an experiment; bad trials are refused with a message', async () => {
  const page = await open(browser, server);
  await page.click('[data-testid="experiments-toggle"]');
  await runExperiment(page, 'elections', 0);
  const error = await page.textContent('[data-testid="experiment-error"]');
  assert.match(error, /trials: a whole number from 1 to 1000/);
  assert.equal(await page.$('[data-testid="experiment-progress"]'), null, 'nothing ran');
  await runExperiment(page, 'elections', 1000);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="experiment-progress"]')?.dataset.done) > 0, null, { timeout: 30_000 });
  await page.click('[data-testid="cancel-experiment"]');
  const stopped = await progress(page);
  assert.ok(stopped.done < stopped.total && stopped.total === 10_000, `${stopped.done} of ${stopped.total}`);
  assert.equal(await page.textContent('[data-testid="experiment-error"]'), 'cancelled');
  // What ran so far is still there to download.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="experiment-csv"]')]);
  const lines = (await readFile(await download.path(), 'utf8')).trim().split('\n');
  assert.ok(lines.length >= 2 && lines.length <= stopped.done + 1, `${lines.length} CSV lines for ${stopped.done} trials`);
  await page.waitForTimeout(500);
  assert.deepEqual(await progress(page), stopped, 'no progress after cancel');
  assert.equal(await page.isEnabled('[data-testid="run-experiment"]'), true);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('replicas: a line per cluster size; the figure readable projected', async () => {
  const page = await open(browser, server);
  await page.click('[data-testid="experiments-toggle"]');
  await page.selectOption('[data-testid="experiment-kind"]', 'replicas');
  assert.equal(await page.getAttribute('[data-testid="experiment-trials"]', 'placeholder'), '1', 'one run per point by default');
  await page.click('[data-testid="run-experiment"]');
  // The first load at every size: five lines (median latency), five more (p99).
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="experiment-progress"]')?.dataset.done) >= 5, null, { timeout: 60_000, polling: 100 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="experiment-plot"] path[data-series]').length >= 10, null, { timeout: 10_000 });
  const s = await series(page);
  for (const n of ['1', '3', '5', '7', '9']) assert.ok(s.includes(n) && s.includes(`${n}-p99`), `lines for ${n} nodes: ${s}`);
  assert.equal((await progress(page)).total, 20);
  // Projected, the figure takes the right-hand column and its text is large.
  await page.keyboard.press('p');
  await page.waitForSelector('.page.projector');
  const smallest = await page.$$eval('[data-testid="experiment-plot"] text', (els) => Math.min(...els.map((e) => e.getBoundingClientRect().height).filter((h) => h > 0)));
  console.log(`projector mode at 1280×720: the figure's smallest text is ${smallest.toFixed(1)} px high`);
  assert.ok(smallest >= 15, `figure text ${smallest} px`);
  const cluster = await page.$eval('svg.cluster', (e) => e.getBoundingClientRect().width);
  assert.ok(cluster > 400, 'the cluster stays on screen beside it');
  await screenshot(page, 'experiment-replicas-projector');
  await page.click('[data-testid="cancel-experiment"]');
  assert.deepEqual(page.errors, []);
  await page.close();
});
