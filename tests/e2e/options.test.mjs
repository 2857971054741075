// PreVote and CheckQuorum, switched from the page (both off by default).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDist, launch, screenshot, nodes, waitForLeader, open, nodeAction } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const term = async (page, id) => (await nodes(page)).find((n) => n.id === id).term;

async function isolateAndReturn(page) {
  const leader = await waitForLeader(page);
  const lonely = (await nodes(page)).find((n) => n.id !== leader.id).id;
  await nodeAction(page, lonely, 'isolate');
  await page.waitForTimeout(2_500);
  const lonelyTerm = await term(page, lonely);
  await nodeAction(page, lonely, 'heal');
  await page.waitForTimeout(2_000);
  const now = await waitForLeader(page);
  return { leader, lonely, lonelyTerm, now };
}

test('without PreVote, an isolated node comes back with a high term and deposes the leader', async () => {
  const page = await open(browser, server, { speed: '1' });
  assert.equal(await page.isChecked('[data-testid="pre-vote"]'), false, 'off by default');
  const { leader, lonelyTerm, now } = await isolateAndReturn(page);
  assert.ok(lonelyTerm > leader.term + 2, `the isolated node kept raising its term (${lonelyTerm})`);
  assert.ok(now.term > leader.term, `the leader of term ${leader.term} was deposed (now term ${now.term})`);
  await screenshot(page, 'without-prevote');
});

test('with PreVote, the isolated node keeps its term and the leader stays', async () => {
  const page = await open(browser, server, { speed: '1' });
  await page.check('[data-testid="pre-vote"]');
  const { leader, lonely, lonelyTerm, now } = await isolateAndReturn(page);
  assert.equal(lonelyTerm, leader.term, 'pre-votes fail while isolated: no new term');
  assert.deepEqual([now.id, now.term], [leader.id, leader.term], 'same leader, same term');
  assert.equal(await term(page, lonely), leader.term);
  await page.check('[data-testid="feed-kind-elections"]');
  await page.uncheck('[data-testid="feed-kind-drops"]');
  await page.uncheck('[data-testid="feed-kind-links"]');
  assert.match(await page.textContent('[data-testid="feed"]'), /asks for pre-votes/);
  await screenshot(page, 'with-prevote');
});

test('with CheckQuorum, a leader that cannot reach a majority steps down', async () => {
  const page = await open(browser, server, { speed: '1' });
  await page.check('[data-testid="check-quorum"]');
  const leader = await waitForLeader(page);
  await nodeAction(page, leader.id, 'isolate');
  await page.waitForFunction((id) => document.querySelector(`g[data-testid="node-${id}"]`).dataset.role !== 'leader',
    leader.id, { timeout: 10_000 });
  await screenshot(page, 'check-quorum-stepped-down');
});

test('make leader hands leadership over and shows the outcome', async () => {
  const page = await open(browser, server, { speed: '0.5' });
  const old = await waitForLeader(page);
  const target = (await nodes(page)).find((n) => n.id !== old.id).id;
  await nodeAction(page, target, 'make-leader');
  const fresh = await waitForLeader(page, { higherThan: old.term });
  assert.equal(fresh.id, target);
  assert.equal(fresh.term, old.term + 1, 'one election, at once');
  await page.waitForSelector('[data-testid="notice"]:text-matches("transfer to node \\\\d: done")');
  await screenshot(page, 'leadership-transferred');
});

test('a read on a pane shows the chat it saw and how it was served', async () => {
  const page = await open(browser, server, { speed: '0.5' });
  const leader = await waitForLeader(page);
  const follower = (await nodes(page)).find((n) => n.id !== leader.id).id;
  await page.fill(`[data-testid="chat-input-${leader.id}"]`, 'written first');
  await page.press(`[data-testid="chat-input-${leader.id}"]`, 'Enter');
  await page.waitForSelector(`[data-testid="chat-status-${leader.id}"]:text-matches("committed at index")`);
  await page.click(`[data-testid="chat-read-${follower}"]`);
  await page.waitForSelector(`[data-testid="chat-status-${follower}"]:text-matches("read served the chat up to index \\\\d+ \\\\(read index \\\\d+ from leader ${leader.id}\\\\)")`);
  await page.click(`[data-testid="chat-read-${leader.id}"]`);
  await page.waitForSelector(`[data-testid="chat-status-${leader.id}"]:text-matches("confirmed it still leads with a heartbeat round")`);
  await screenshot(page, 'linearizable-read');
});
