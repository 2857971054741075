// Guided lessons, hold mode and the projector layout, through the page.
// The lessons are the files in core/lessons (the core's tests play each one
// and check every step's expectations; here the page plays them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { serveDist, launch, screenshot, open, nodes, nodeAction, stepOnce } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const lessonDir = new URL('../../core/lessons/', import.meta.url);
const lessonFile = async (id) => JSON.parse(await readFile(new URL(`${id}.json`, lessonDir), 'utf8'));
const caption = (page) => page.$eval('[data-testid="lesson-caption"]', (c) => ({
  part: Number(c.dataset.part), step: Number(c.dataset.step), playing: c.dataset.playing === 'true',
  text: c.querySelector('[data-testid="lesson-text"]')?.textContent ?? '',
  reveal: c.querySelector('[data-testid="lesson-reveal"]')?.textContent ?? '',
  // Read in the same instant as the rest (a lesson can arrive in between).
  paused: document.querySelector('[data-testid="clock"]').dataset.state === 'paused',
}));
const clockMs = async (page) => Math.round(parseFloat(await page.textContent('[data-testid="clock"]')) * 1000);

async function openLesson(page, id) {
  await page.click('[data-testid="lessons"] summary');
  await page.click(`[data-testid="lesson-${id}"]`);
  await page.waitForSelector('[data-testid="lesson-caption"]', { timeout: 20_000 });
}

/** Presses Next until the lesson shows part `part`, step `step`, stopped
 *  (a broken property pauses play early: Next plays on). Bounded. */
async function reach(page, part, step) {
  for (let i = 0; i < 400; i++) {
    const c = await caption(page);
    if (c.part === part && c.step === step && !c.playing) return c;
    if (c.playing && c.paused) await page.click('[data-testid="lesson-next"]');
    await page.waitForTimeout(100);
  }
  throw new Error(`the lesson never reached part ${part}, step ${step}: ${JSON.stringify(await caption(page))}`);
}

test('every built-in lesson plays to its end through the page, stopping where the core stops, answering each question', async () => {
  const ids = (await readdir(lessonDir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  assert.equal(ids.length, 11);
  const page = await open(browser, server, { speed: '1' });
  const menu = await page.$$eval('details.lessons ol [data-testid^="lesson-"]', (b) => b.map((e) => e.dataset.testid));
  assert.deepEqual([...menu].sort(), ids.map((id) => `lesson-${id}`).sort());
  for (const id of ids) {
    const lesson = await lessonFile(id);
    await openLesson(page, id);
    assert.equal(await page.textContent('[data-testid="lesson-caption"] strong'), lesson.title);
    for (const [p, part] of lesson.parts.entries()) {
      for (const [s, step] of part.steps.entries()) {
        const c = await reach(page, p + 1, s + 1);
        assert.equal(c.text, step.caption, `${id} ${p + 1}.${s + 1}`);
        assert.equal(await clockMs(page), step.stop_ms, `${id} ${p + 1}.${s + 1}: the page stops where the core does`);
        for (const t of step.point ?? []) {
          const sel = t.node ? `g[data-testid="node-${t.node}"]` : t.chat ? `[data-testid="chat-pane-${t.chat}"]`
            : t === 'log' ? 'section.log-view' : t === 'safety' ? '.safety-wrap' : null;
          if (sel) assert.ok(await page.$eval(sel, (e) => e.classList.contains('pointed')), `${id}: ${sel} is pointed at`);
        }
        if (step.question) {
          await screenshot(page, `lesson-${id}-${p + 1}-${s + 1}-question`);
          await page.click(`[data-testid="lesson-choice-${step.question.answer}"]`);
          assert.equal(await page.getAttribute(`[data-testid="lesson-choice-${step.question.answer}"]`, 'aria-pressed'), 'true');
        }
        await page.click('[data-testid="lesson-next"]');
        if (step.question && s + 1 < part.steps.length) {
          const next = await reach(page, p + 1, s + 2);
          assert.match(next.reveal, /^Right! The answer: /, `${id}: the answer is revealed at the next stop`);
        }
      }
    }
    await page.waitForSelector('[data-testid="lesson-done"]');
    await page.click('[data-testid="lesson-next"]');
    await page.waitForSelector('[data-testid="lesson-caption"]', { state: 'detached' });
  }
  assert.deepEqual(page.errors, []);
});

test('a lesson by link, Skip and PageDown, a wrong answer, and bad lesson files with clear messages', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(server.url + '#lesson=split-votes');
  await page.waitForSelector('[data-testid="lesson-caption"]', { timeout: 20_000 });
  const lesson = await lessonFile('split-votes');
  assert.equal((await caption(page)).step, 1);
  const notice = () => page.evaluate(() => document.querySelector('[data-testid="notice"]')?.textContent ?? '');
  assert.doesNotMatch(await notice(), /recorded by/, 'a built-in lesson is planned by this build');
  await page.keyboard.press('PageDown');
  let c = await reach(page, 1, 2);
  await page.click('[data-testid="lesson-choice-0"]'); // wrong
  await page.click('[data-testid="lesson-skip"]');
  c = await reach(page, 1, 3);
  assert.match(c.reveal, /^Not quite\. The answer: No: nobody gets 3 votes/);
  assert.equal(await clockMs(page), lesson.parts[0].steps[2].stop_ms);
  // Still no leader two seconds in: every node a candidate.
  assert.ok((await nodes(page)).every((n) => n.role === 'candidate'));
  await page.keyboard.press('PageDown'); // the next part
  c = await reach(page, 2, 1);
  assert.equal(await clockMs(page), 0);
  assert.equal(await page.$('[data-testid="lesson-off-script"]'), null);
  // Acting on the run branches it: the caption warns.
  await nodeAction(page, 3, 'crash');
  await page.waitForSelector('[data-testid="lesson-off-script"]');
  await page.click('[data-testid="lesson-close"]');
  assert.equal(await page.$('[data-testid="lesson-caption"]'), null);

  const bad = async (name, text, message) => {
    await page.click('[data-testid="lessons"] summary');
    await page.setInputFiles('[data-testid="lesson-file"]', { name, mimeType: 'application/json', buffer: Buffer.from(text) });
    // The previous file's message may still be up: wait for this one's (as
    // timeline.test.mjs does), then assert on it.
    await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('[data-testid="import-error"]')?.textContent ?? ''),
      message.source, { timeout: 10_000 }).catch(() => {});
    assert.match(await page.textContent('[data-testid="import-error"]'), message);
    await page.click('[data-testid="lessons"] summary');
  };
  await bad('cut.json', '{"version": 1, "parts": [', /the lesson is damaged or cut short/);
  const noStops = await lessonFile('first-election');
  for (const s of noStops.parts[0].steps) delete s.stop_ms;
  await bad('no-stops.json', JSON.stringify(noStops), /step 2: a step that stops at a condition .*raftchat-sim --lesson FILE --write/);
  const v2 = { ...(await lessonFile('first-election')), version: 2 };
  await bad('v2.json', JSON.stringify(v2), /format version 2/);
  const noRun = await lessonFile('first-election');
  noRun.parts[0].run.config.nodes = 0;
  await bad('nodes0.json', JSON.stringify(noRun), /part 1's run/);
  assert.equal(await page.$('[data-testid="lesson-caption"]'), null, 'a bad file opens nothing');
  // A lesson planned by a build that kept no replay version opens, with a note.
  const old = await lessonFile('first-election');
  for (const part of old.parts) delete part.run.replay_version;
  await page.click('[data-testid="lessons"] summary');
  await page.setInputFiles('[data-testid="lesson-file"]', { name: 'old.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(old)) });
  await page.waitForSelector('[data-testid="lesson-caption"]');
  await page.waitForFunction(() => /This lesson was recorded by an earlier raftchat .*may not play out exactly as it was recorded/
    .test(document.querySelector('[data-testid="notice"]')?.textContent ?? ''), null, { timeout: 10_000 });
  assert.deepEqual(page.errors, []);
});

/** A lesson of nine nodes, from a file, for the layout checks. */
async function nineNodeLesson() {
  const l = await lessonFile('first-election');
  l.id = 'nine'; l.title = 'Nine servers';
  l.parts[0].run.config.nodes = 9;
  l.parts[0].steps = [
    { at_ms: 0, stop_ms: 0, caption: 'Nine servers, all followers.', point: [{ node: 9 }, { chat: 9 }] },
    { at_ms: 1500, stop_ms: 1500, caption: 'A leader, and every chat pane in view.', point: ['log'],
      question: { ask: 'Who leads?', choices: ['one node', 'no one'], answer: 0 } },
    { at_ms: 1600, stop_ms: 1600, caption: 'The end.' },
  ];
  l.parts[0].run.steps = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => ({ at_ms: 1000 + n, do: { send: { node: n, client: n, seq: 1, author: 'class', text: `hello from pane ${n}` } } }));
  return l;
}

test('projector mode fits the cluster, the log grid, nine chat panes and the lesson caption at 1280×720 and 1920×1080, labels at 18 px or more', async () => {
  for (const [width, height] of [[1280, 720], [1920, 1080]]) {
    const page = await open(browser, server, { speed: '1' });
    await page.setViewportSize({ width, height });
    await page.click('[data-testid="lessons"] summary');
    await page.setInputFiles('[data-testid="lesson-file"]', { name: 'nine.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(await nineNodeLesson())) });
    await page.waitForSelector('[data-testid="lesson-caption"]');
    await page.click('[data-testid="projector"]');
    await page.click('[data-testid="lesson-next"]');
    await reach(page, 1, 2);
    const r = await page.evaluate(() => {
      const box = (e) => { const b = e.getBoundingClientRect(); return { id: e.dataset.testid, l: b.left, t: b.top, r: b.right, b: b.bottom }; };
      const ids = ['cluster', 'log-grid', 'lesson-caption', ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `chat-pane-${n}`)];
      const svg = document.querySelector('svg[data-testid="cluster"]');
      const scale = svg.getScreenCTM().a;
      const labels = [...svg.querySelectorAll('g.node text')].map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
      return { boxes: ids.map((id) => box(document.querySelector(`[data-testid="${id}"]`))), minLabel: Math.min(...labels),
        scrollW: document.documentElement.scrollWidth, scrollH: document.documentElement.scrollHeight, w: innerWidth, h: innerHeight };
    });
    for (const b of r.boxes) {
      assert.ok(b.l >= 0 && b.t >= 0 && b.r <= r.w + 0.5 && b.b <= r.h + 0.5, `${width}×${height}: ${JSON.stringify(b)} lies in the viewport`);
    }
    assert.ok(r.minLabel >= 18, `${width}×${height}: the cluster's smallest label is ${r.minLabel.toFixed(1)} px`);
    assert.ok(r.scrollW <= r.w && r.scrollH <= r.h, `${width}×${height}: nothing overflows (${r.scrollW}×${r.scrollH})`);
    assert.equal(await page.$$eval('[data-testid="chat-message"]', (m) => m.length) >= 9, true, 'the panes show the chat');
    await screenshot(page, `projector-${width}x${height}-9-nodes-lesson`);
    assert.deepEqual(page.errors, []);
    await page.close();
  }
});

test('the default layout shows the log grid without scrolling at 1280×720 (5 nodes); full screen by button', async () => {
  const page = await open(browser, server);
  const grid = await page.$eval('[data-testid="log-grid"]', (e) => e.getBoundingClientRect().bottom);
  assert.ok(grid <= 720, `the log grid ends at ${grid} px`);
  await page.click('[data-testid="fullscreen"]');
  await page.waitForFunction(() => document.fullscreenElement !== null, null, { timeout: 5_000 });
  await page.keyboard.press('f');
  await page.waitForFunction(() => document.fullscreenElement === null, null, { timeout: 5_000 });
  await screenshot(page, 'default-1280x720');
  assert.deepEqual(page.errors, []);
});

test('hold mode: messages wait on their links; delivered one at a time they elect the node we chose', async () => {
  const page = await open(browser, server);
  // A run staged from a file: hold mode on from the start, node 3 times out
  // at 1 ms; it opens paused at 10 ms (long before any other timer).
  const config = JSON.parse(await readFile(new URL('first-election.json', lessonDir), 'utf8')).parts[0].run.config;
  const recipe = { version: 1, config: { ...config, nodes: 3, seed: 11 },
    steps: [{ at_ms: 0, do: { hold: true } }, { at_ms: 1, do: { timeout: 3 } }], end_ms: 10, at_ms: 10 };
  await page.setInputFiles('[data-testid="import-run"]', { name: 'hold.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(recipe)) });
  await page.waitForFunction(() => /Opened a run/.test(document.querySelector('[data-testid="notice"]')?.textContent ?? ''));
  assert.equal(await page.getAttribute('[data-testid="clock"]', 'data-state'), 'paused');
  assert.ok(await page.isChecked('[data-testid="hold-messages"]'), 'the checkbox shows the recorded hold mode');
  const held = () => page.$$eval('[data-testid="message"][data-held="true"]', (m) => m.map((e) => ({ id: e.dataset.id, kind: e.dataset.kind })));
  let h = await held();
  assert.equal(h.length, 2, JSON.stringify(h));
  assert.ok(h.every((m) => m.kind === 'RequestVote'), JSON.stringify(h));
  assert.equal(await page.$$eval('[data-testid="held-list"] li', (l) => l.length), 2);
  const t0 = await clockMs(page);
  // Deliver the request to one node by clicking it on its link; once that
  // node's vote is on its disk, the vote comes back, held.
  await page.click(`[data-testid="message"][data-id="${h[0].id}"]`);
  const voteHeld = () => page.$$eval('[data-testid="message"][data-held="true"]', (m) => m.some((e) => e.dataset.kind === 'vote granted'));
  // One step at a time: a step may wait for IndexedDB to confirm a write, and
  // steps clicked meanwhile would pile up and run on past the election.
  for (let i = 0; i < 20 && !(await voteHeld()); i++) await stepOnce(page);
  assert.ok(await voteHeld(), JSON.stringify(await held()));
  assert.equal(await page.getAttribute('g[data-testid="node-3"]', 'data-role'), 'candidate', 'nothing arrives by itself');
  h = await held();
  const vote = h.find((m) => m.kind === 'vote granted');
  // Duplicate it, then deliver it from the list.
  await page.click(`[data-testid="held-duplicate-${vote.id}"]`);
  assert.equal((await held()).length, 3);
  await page.click(`[data-testid="held-deliver-${vote.id}"]`);
  await page.waitForFunction(() => document.querySelector('g[data-testid="node-3"]').dataset.role === 'leader');
  // Deliver next (in send order), then hold off: everything sets out.
  await page.click('[data-testid="deliver-next"]');
  await page.uncheck('[data-testid="hold-messages"]');
  assert.equal((await held()).length, 0);
  const t1 = await clockMs(page);
  assert.ok(t1 - t0 < 100, `it all happened within a few steps (${t0} → ${t1} ms)`);
  await page.click('[data-testid="play-pause"]');
  await page.waitForFunction(() => [...document.querySelectorAll('g[data-testid^="node-"]')].every((n) => n.dataset.term === '1'));
  assert.equal(await page.getAttribute('[data-testid="safety"]', 'data-state'), 'ok');
  await screenshot(page, 'hold-mode');
  assert.deepEqual(page.errors, []);
});

test('a teacher writes a lesson in the page: stops with a caption and a question, exported, played back; the core reads it too', async () => {
  const page = await open(browser, server, { speed: '1' });
  await page.waitForFunction(() => parseFloat(document.querySelector('[data-testid="clock"]').textContent) > 0.5);
  await page.click('[data-testid="play-pause"]');
  await page.click('[data-testid="lessons"] summary');
  await page.click('[data-testid="lesson-author"]');
  await page.fill('[data-testid="author-title"]', 'My first lesson: a leader!');
  // A stop without a caption is refused, clearly.
  await page.click('[data-testid="author-add"]');
  assert.match(await page.textContent('[data-testid="notice"]'), /write a caption/);
  const first = await clockMs(page);
  await page.fill('[data-testid="author-caption"]', 'Look: one leader.');
  await page.click('[data-testid="author-add"]');
  await page.click('[data-testid="play-pause"]');
  await page.waitForFunction((t) => parseFloat(document.querySelector('[data-testid="clock"]').textContent) * 1000 > t + 300, first);
  await page.click('[data-testid="play-pause"]');
  const second = await clockMs(page);
  await page.fill('[data-testid="author-caption"]', 'Later: still the same leader.');
  await page.fill('[data-testid="author-ask"]', 'Did the term change?');
  await page.fill('[data-testid="author-choices"]', 'yes\nno');
  await page.fill('[data-testid="author-answer"]', '3');
  await page.click('[data-testid="author-add"]');
  assert.match(await page.textContent('[data-testid="notice"]'), /number of the right choice, 1 to 2/);
  await page.fill('[data-testid="author-answer"]', '2');
  await page.click('[data-testid="author-add"]');
  await page.fill('[data-testid="author-caption"]', 'The end.');
  await page.fill('[data-testid="author-ask"]', '');
  await page.click('[data-testid="step"]');
  const third = await clockMs(page);
  await page.click('[data-testid="author-add"]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="author-export"]')]);
  assert.equal(download.suggestedFilename(), 'my-first-lesson-a-leader.json');
  const text = await readFile(await download.path(), 'utf8');
  const lesson = JSON.parse(text);
  assert.equal(lesson.version, 1);
  assert.equal(lesson.title, 'My first lesson: a leader!');
  assert.deepEqual(lesson.parts[0].steps.map((s) => s.stop_ms), [first, second, third]);
  assert.deepEqual(lesson.parts[0].steps[1].question, { ask: 'Did the term change?', choices: ['yes', 'no'], answer: 1 });
  // The core reads it (the CLI built by the core's tests).
  const cli = fileURLToPath(new URL('../../target/release/raftchat-sim', import.meta.url));
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(cli, ['--lesson', await download.path()], { encoding: 'utf8' });
  assert.match(out, /every expectation holds/);
  assert.match(out, new RegExp(`part 1 step 3 at ${third} ms`));
  // Played back in the page.
  await page.click('[data-testid="lessons"] summary');
  await page.setInputFiles('[data-testid="lesson-file"]', { name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(text) });
  await page.waitForSelector('[data-testid="lesson-caption"] >> text=Look: one leader.');
  assert.equal(await clockMs(page), first);
  await page.click('[data-testid="lesson-next"]');
  await reach(page, 1, 2);
  assert.equal(await clockMs(page), second);
  await page.click('[data-testid="lesson-choice-1"]');
  await page.click('[data-testid="lesson-next"]');
  const c = await reach(page, 1, 3);
  assert.match(c.reveal, /^Right! The answer: no\./, JSON.stringify({ c, first, second, third, clock: await clockMs(page) }));
  assert.deepEqual(page.errors, []);
});
