/**
 * The web dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real
 * controller, router and instances under load: sign in through `slipway dashboard`'s link, see the
 * service and its release, click a canary through its promotions and then a rollback, each
 * confirmed and answered on the page; a viewer's token shows no action at all; the audit page
 * names who did it. Screenshots (desktop 1280×800 and phone 390×844) go to test-artifacts/dashboard/.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { TestProject } from '../support/project.js';
import { startLoad, type Load } from '../support/load.js';
import { artifactsDir, browserMissing, launchChromium } from '../support/browser.js';
import { waitFor } from '../../src/core/wait-for.js';
import { ControllerClient } from '../../src/client/client.js';

const STRATEGY = `    strategy:
      canary:
        steps:
          - weight: 30
          - pause: {}
          - weight: 60
          - pause: {}`;

/** Waits until the element's text matches (what a person would see), saying what it saw last. */
async function shows(what: Locator, re: RegExp, timeoutMs = 30_000): Promise<string> {
  let last = '';
  return waitFor(
    `${String(what)} to show ${re}`,
    async () => {
      last = (await what.count()) ? await what.first().innerText() : '(not on the page)';
      return re.test(last) ? last : undefined;
    },
    timeoutMs,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; it showed: ${JSON.stringify(last)}`);
  });
}

/** Clicks an action, checks the question asked, confirms, and returns what the page answered. */
async function act(page: Page, action: string, question: RegExp, reason?: string): Promise<string> {
  await page.getByTestId(`action-${action}`).click();
  const dialog = page.getByTestId('confirm');
  assert.match(await dialog.innerText(), question);
  if (reason !== undefined) await dialog.getByTestId('reason').fill(reason);
  await dialog.getByTestId('confirm-yes').click();
  await dialog.waitFor({ state: 'detached' });
  return page.getByTestId('action-result').innerText();
}

describe('the web dashboard in Chromium (real controller, router, instances and traffic)', { skip: browserMissing() }, () => {
  const p = new TestProject();
  const shots = artifactsDir('dashboard');
  let browser: Browser;
  let client: ControllerClient;
  let load: Load | undefined;

  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1' }, extra: STRATEGY });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    client = ControllerClient.connect(p.dir);
    browser = await launchChromium();
  });
  after(async () => {
    await load?.stop();
    await browser?.close();
    await p.cleanup();
  });

  it('signs in from `slipway dashboard`, promotes a canary step by step and rolls it back, each confirmed and shown', async () => {
    const link = await p.cli(['dashboard']);
    assert.equal(link.code, 0, link.stderr);
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    const problems: string[] = [];
    let streams = 0;
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === '/v1/events' && r.status() === 200) streams++;
    });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(link.stdout.trim());

    // Signed in: the token left the address bar; the service and its release are listed.
    assert.doesNotMatch(page.url(), /token/);
    await shows(page.getByTestId('who'), /dashboard:.* · approver/);
    const row = page.getByTestId('service-web');
    await shows(row.getByTestId('health'), /^Healthy$/);
    assert.equal(await row.getByTestId('current').innerText(), '#1');
    await page.screenshot({ path: join(shots, 'services.png') });

    // A canary under load: it waits at 30%.
    load = startLoad(p.url, { concurrency: 2 });
    await p.writeConfig({ env: { VERSION: 'v2' }, extra: STRATEGY });
    const deploy = await p.cli(['deploy', 'web', '-m', 'greeting v2']);
    assert.equal(deploy.code, 0, deploy.stderr);
    await row.getByRole('link', { name: 'web' }).click();
    await shows(page.getByTestId('rollout-phase'), /^Paused$/);
    await shows(page.getByTestId('rollout-step'), /canary weight 30%/);
    await shows(page.getByTestId('rollout-weights'), /#1: 70%.*#2: 30%/s);

    assert.match(
      await act(page, 'promote', /Promote release #2 of web past step 2 of 4 \(30%\)\?/),
      /^Promote: accepted — rollout #2 \(deploy of #2\)/,
    );
    await shows(page.getByTestId('rollout-step'), /canary weight 60%/);
    await shows(page.getByTestId('rollout-phase'), /^Paused$/);
    await shows(page.getByTestId('rollout-weights'), /#1: 40%.*#2: 60%/s);
    // The charts have drawn lines for both releases by now (a second of traffic each).
    await shows(page.getByTestId('chart-traffic'), /#1[\s\S]*#2/);
    await page.screenshot({ path: join(shots, 'rollout.png'), fullPage: true });

    assert.match(await act(page, 'promote', /past step 4 of 4 \(60%\)/), /^Promote: accepted/);
    await shows(page.getByTestId('service-health'), /^Healthy$/, 60_000);
    await shows(page.getByTestId('service-release'), /release #2 \(before: #1\)/);
    await shows(page.getByTestId('release-2'), /#2\s*serving[\s\S]*live[\s\S]*greeting v2/);
    assert.equal((await client.status()).services[0]!.currentRelease, 2);

    // Rollback, with a reason that lands in the audit log.
    assert.match(
      await act(page, 'rollback', /Roll web back from release #2 to the release that served before it\?/, 'v2 greets wrongly'),
      /^Roll back: accepted — rollout #3 \(rollback of #1\)/,
    );
    await shows(page.getByTestId('service-release'), /release #1 \(before: #2\)/, 60_000);
    await shows(page.getByTestId('service-health'), /^Healthy$/, 60_000);
    await shows(page.getByTestId('release-2'), /superseded/);
    assert.equal((await client.status()).services[0]!.currentRelease, 1);
    assert.match(await (await fetch(p.url)).text(), /^v1 release=1 /);
    await page.screenshot({ path: join(shots, 'rolled-back.png'), fullPage: true });

    await page.getByRole('link', { name: 'Audit' }).click();
    const audit = await shows(page.getByTestId('audit'), /rollback/);
    assert.match(audit, /dashboard:\S+\s+rollback\s+\S+ \/ web\s+ok\s+v2 greets wrongly/);
    assert.equal(audit.match(/dashboard:\S+\s+promote\s/g)?.length, 2, audit);
    // Project-wide changes too: the token this page signed in with.
    assert.match(audit, /local:\S+\s+token\.create\s+project\s+ok/);
    await page.screenshot({ path: join(shots, 'audit.png') });

    // A change made elsewhere shows on the open page through the event stream (/v1/events), long
    // before the page's safety-net poll would read it (every 30 s while the stream is open).
    assert.ok(streams > 0, 'the dashboard follows /v1/events');
    const creates = async () => ((await page.getByTestId('audit').innerText()).match(/token\.create/g) ?? []).length;
    const before = await creates();
    const created = await p.cli(['tokens', 'create', '--role', 'viewer', '--name', 'made-elsewhere']);
    assert.equal(created.code, 0, created.stderr);
    await waitFor('the new audit entry on the open page', async () => (await creates()) === before + 1, 10_000, 100);

    const totals = await load.stop();
    load = undefined;
    assert.deepEqual(totals.failures, []);
    assert.deepEqual(problems, [], 'no error in the browser console (a CSP violation would be one)');
    await ctx.close();
  });

  it('a viewer signs in with a pasted token and sees everything but no action; on a phone too', async () => {
    const created = await p.cli(['tokens', 'create', '--role', 'viewer', '--name', 'wallboard']);
    assert.equal(created.code, 0, created.stderr);
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await ctx.newPage();
    const base = `http://127.0.0.1:${client.info.port}/`;
    await page.goto(base);
    await page.getByTestId('token').fill('slw_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await shows(page.getByRole('alert'), /UNAUTHORIZED/);
    await page.getByTestId('token').fill(created.stdout.trim());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await shows(page.getByTestId('who'), /wallboard · viewer/);
    await shows(page.getByTestId('service-web').getByTestId('current'), /^#1$/);
    await page.screenshot({ path: join(shots, 'phone-services.png'), fullPage: true });

    await page.goto(`${base}#/service/web`);
    await shows(page.getByTestId('service-release'), /release #1/);
    await shows(page.getByTestId('history'), /#2/);
    // A deployer would see "Roll back" here now; a viewer sees no button at all.
    assert.equal(await page.getByTestId('actions').locator('button').count(), 0);
    // Nothing is wider than the phone's screen but the tables, which scroll in their own box.
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await page.screenshot({ path: join(shots, 'phone-service.png'), fullPage: true });

    // The token lives in this tab's sessionStorage only; signing out forgets it.
    assert.match(((await page.evaluate("sessionStorage.getItem('slipway.token')")) as string | null) ?? '', /^slw_/);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByTestId('token').waitFor();
    assert.equal(await page.evaluate("sessionStorage.getItem('slipway.token')"), null);
    await ctx.close();
  });
});

describe('approving a deploy from the dashboard (real controller)', { skip: browserMissing() }, () => {
  const p = new TestProject();
  let browser: Browser;

  before(async () => {
    await p.writeConfig({ instances: 1, tail: 'environments:\n  local:\n    target: local\n    approval: { required: true }' });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await p.cleanup();
  });

  it('a deployer sees no Approve button; an approver approves with a comment and the release starts', async () => {
    const deployer = await p.cli(['dashboard', '--role', 'deployer']);
    const approver = await p.cli(['dashboard']);
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();

    await page.goto(deployer.stdout.trim());
    await shows(page.getByTestId('who'), / · deployer$/);
    await page.goto(`${new URL(deployer.stdout.trim()).origin}/#/service/web`);
    await shows(page.getByTestId('rollout-phase'), /^AwaitingApproval$/);
    // Abort is a deployer's; approving is not.
    await page.getByTestId('action-abort').waitFor();
    assert.equal(await page.getByTestId('action-approve').count(), 0);

    // Another link signs this tab in again, as the approver.
    await page.goto(approver.stdout.trim());
    await shows(page.getByTestId('who'), / · approver$/);
    await page.goto(`${new URL(approver.stdout.trim()).origin}/#/service/web`);
    assert.match(
      await act(page, 'approve', /Approve release #1 of web\?/, 'checked with the team'),
      /^Approve: accepted — rollout #1 \(deploy of #1\)/,
    );
    await shows(page.getByTestId('service-health'), /^Healthy$/, 60_000);
    await shows(page.getByTestId('service-release'), /release #1/);
    assert.match(await page.getByTestId('rollout').innerText(), /approved by dashboard:\S+: checked with the team/);
    await ctx.close();
  });
});
