// The console in a real browser (Debian's Chromium, driven by playwright-core): sign in, open
// every page against the seeded service, compare the figures on the page with the API's, review
// a flag, switch language, and save screenshots. Run by tests/console/console_test.cpp, which
// starts the service and seeds it; exits non-zero on the first failed check.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import assert from "node:assert/strict";

const env = process.env;
const require = createRequire(import.meta.url);
const { chromium } = require(env.PLAYWRIGHT_CORE);
const base = env.CONSOLE_BASE;
const out = env.SCREENSHOT_DIR;
mkdirSync(out, { recursive: true });

async function api(token, path, options = {}) {
  const response = await fetch(base + path, {
    ...options,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  assert.equal(response.ok, true, `${path}: ${response.status} ${await response.clone().text()}`);
  return response.json();
}

const wonText = (n) => `${Number(n).toLocaleString("en-US")}원`;

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=ko-KR"],
});
const problems = [];
let page;

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "ko-KR", timezoneId: "Asia/Seoul" });
  const p = await context.newPage();
  p.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // The browser logs the refused sign-in's 401 as an error; any other error is a problem.
  p.on("console", (m) => {
    if (m.type() === "error" && !/status of 401/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  return p;
}

// Does `action`, then waits until the page has drawn anew (a later generation than before).
async function redrawn(action) {
  const before = await page.evaluate(() => Number(document.getElementById("view").dataset.generation || 0));
  await action();
  await page.waitForFunction((b) => {
    const v = document.getElementById("view");
    return v.dataset.ready === "true" && Number(v.dataset.generation) > b;
  }, before, { timeout: 15000 });
}

// Opens a console page by hash and waits until it has drawn.
async function open(hash) {
  await redrawn(() => page.evaluate((h) => { location.hash = h; }, hash));
  const error = await page.$("#view .error:not([hidden])");
  assert.ok(!error, `${hash}: ${error ? await error.textContent() : ""}`);
}

async function shot(name) {
  await page.screenshot({ path: `${out}/${name}.png` });
}

// Every cell with data-field in a row: {field: {value, text}}.
async function cells(selector) {
  return page.$$eval(selector, (rows) => rows.map((r) => {
    const o = { key: r.dataset.district || r.dataset.pool || r.dataset.flag || "", attrs: { ...r.dataset }, className: r.className };
    for (const c of r.querySelectorAll("[data-field]")) o[c.dataset.field] = { value: c.dataset.value, text: c.textContent };
    return o;
  }));
}

function expectWon(cell, n, where) {
  assert.ok(cell, `${where}: no cell`);
  assert.equal(Number(cell.value), n, `${where}: value`);
  assert.equal(cell.text, wonText(n), `${where}: text`);
}

const token = env.CITY_TOKEN;
const steps = [];
async function step(name, fn) {
  await fn();
  steps.push(name);
  console.log(`ok ${steps.length} - ${name}`);
}

try {
  page = await newPage();

  await step("the sign-in page refuses a wrong token and keeps nothing", async () => {
    await page.goto(`${base}/console/`);
    await page.waitForSelector("#signin:not([hidden])");
    assert.equal(await page.textContent("label[for=token]"), "관리자 토큰");
    await shot("signin");
    await page.fill("#token", "not-a-token");
    await page.click("#signin-button");
    await page.waitForSelector("#signin-error:not([hidden])");
    assert.equal(await page.textContent("#signin-error"), "토큰이 올바르지 않습니다.");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("evoucher.token")), null);
  });

  await step("signing in keeps the token in the tab's session storage only", async () => {
    await page.fill("#token", token);
    await page.click("#signin-button");
    await page.waitForSelector("#app:not([hidden])");
    await page.waitForSelector(`#view[data-ready="true"]`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("evoucher.token")), token);
    assert.equal(await page.evaluate(() => localStorage.getItem("evoucher.token")), null);
    assert.match(await page.textContent("#who"), /시 관리자/);
  });

  await step("overview: every district's month figures are the API's", async () => {
    await open("#overview?month=2020-03");
    const districts = (await api(token, "/v1/districts")).districts;
    const rows = await cells("#overview-table tbody tr[data-district]:not(.total)");
    assert.deepEqual(rows.map((r) => r.key), districts.map((d) => d.code));
    const total = { loaded: 0, spent: 0, posted: 0 };
    for (const row of rows) {
      const s = await api(token, `/v1/districts/${row.key}/summary?from=2020-03-01&to=2020-03-31`);
      assert.equal(Number(row.members.value), s.members, `${row.key} members`);
      expectWon(row.loaded, s.loaded, `${row.key} loaded`);
      expectWon(row.spent, s.payments.charged - s.cancelled, `${row.key} spent`);
      expectWon(row.refunded, s.refunded, `${row.key} refunded`);
      expectWon(row.pending, s.cashback.pending, `${row.key} pending`);
      expectWon(row.posted, s.cashback.posted.city + s.cashback.posted.district + s.cashback.posted.merchant, `${row.key} posted`);
      expectWon(row.unfunded, s.cashback.unfunded, `${row.key} unfunded`);
      expectWon(row.outstanding, s.outstanding.payable, `${row.key} outstanding`);
      total.loaded += s.loaded;
      total.spent += s.payments.charged - s.cancelled;
      total.posted += s.cashback.posted.city + s.cashback.posted.district + s.cashback.posted.merchant;
    }
    assert.ok(total.loaded > 0 && total.spent > 0 && total.posted > 0, "the seeded month has money in it");
    const [sum] = await cells("#overview-table tbody tr.total");
    expectWon(sum.loaded, total.loaded, "total loaded");
    expectWon(sum.spent, total.spent, "total spent");
    await shot("overview");
  });

  await step("pools: budget, drawn and remaining are the API's; the burn-down has its forecast", async () => {
    const pools = (await api(token, "/v1/pools")).pools;
    const national = pools.find((p) => p.source === "national");
    await open(`#pools?pool=${national.id}`);
    const rows = await cells("#pools-table tbody tr");
    assert.deepEqual(rows.map((r) => r.key), pools.map((p) => String(p.id)));
    for (const [i, p] of pools.entries()) {
      expectWon(rows[i].budget, p.budget, `pool ${p.id} budget`);
      expectWon(rows[i].drawn, p.drawn, `pool ${p.id} drawn`);
      expectWon(rows[i].remaining, p.remaining, `pool ${p.id} remaining`);
    }
    assert.ok(national.drawn > 0, "the batch drew on the national pool");
    const burn = await api(token, `/v1/pools/${national.id}/burn-down`);
    assert.ok(burn.days.length >= 2, "burn-down days");
    const facts = await cells("#burn-down");
    expectWon(facts[0].daily_draw, burn.forecast.daily_draw, "daily draw");
    assert.equal(facts[0].runs_out_on.value, burn.forecast.runs_out_on ?? "");
    const drawn = await page.evaluate(() => {
      const c = document.getElementById("burn-chart");
      return c && c.width > 0 && typeof Chart !== "undefined" && Chart.getChart(c) !== undefined;
    });
    assert.equal(drawn, true, "the burn-down chart is drawn");
    await shot("pools");
  });

  await step("batches: runs and pending dates are the API's, pending ones highlighted", async () => {
    await open("#batches?from=2020-03-01&to=2020-03-31");
    const days = (await api(token, "/v1/batches/cashback?from=2020-03-01&to=2020-03-31")).days;
    const rows = await cells("#batches-table tbody tr");
    assert.equal(rows.length, days.length);
    assert.ok(days.some((d) => d.status === "pending") && days.some((d) => d.status === "completed"));
    for (const [i, d] of days.entries()) {
      assert.equal(rows[i].attrs.date, d.business_date);
      assert.equal(rows[i].attrs.status, d.status);
      assert.equal(rows[i].className.includes("pending"), d.status !== "completed", `${d.business_date} highlight`);
      const posted = d.components ? d.components.city.posted + d.components.district.posted + d.components.merchant.posted : 0;
      expectWon(rows[i].posted, posted, `${d.district} ${d.business_date} posted`);
    }
    await shot("batches");
  });

  await step("members and merchants: balances, the month and a paged statement", async () => {
    await open("#lookup?member=m1&merchant=bp-bakery");
    const m = await api(token, "/v1/members/m1");
    const [facts] = await cells("#member-card .facts");
    expectWon(facts.cash, m.cash, "cash");
    expectWon(facts.points, m.points, "points");
    expectWon(facts.pending_cashback, m.pending_cashback, "pending cashback");
    expectWon(facts.month_eligible_spent, m.month.eligible_spent, "eligible spend");
    const first = await api(token, "/v1/members/m1/statement?limit=10");
    const amounts = await page.$$eval("#statement-table tbody td[data-field=amount]", (t) => t.map((c) => Number(c.dataset.value)));
    assert.deepEqual(amounts, first.entries.map((e) => e.amount));
    assert.ok(first.next, "m1 has more than one page");
    const [merchant] = await cells("#merchant-card .facts");
    expectWon(merchant.payable, (await api(token, "/v1/merchants/bp-bakery")).payable, "payable");
    await shot("lookup");
    await redrawn(() => page.click("#statement-next"));
    const second = await api(token, `/v1/members/m1/statement?limit=10&after=${encodeURIComponent(first.next)}`);
    const next = await page.$$eval("#statement-table tbody td[data-field=amount]", (t) => t.map((c) => Number(c.dataset.value)));
    assert.deepEqual(next, second.entries.map((e) => e.amount));
  });

  await step("flags: the open queue is the API's, and a confirmation with a note reviews the flag", async () => {
    await open("#flags?from=2020-03-01&to=2020-03-31&status=open");
    const open1 = (await api(token, "/v1/flags?from=2020-03-01&to=2020-03-31&status=open")).flags;
    assert.ok(open1.length >= 2, "seeded flags");
    let rows = await cells("#flags-table tbody tr");
    assert.deepEqual(rows.map((r) => r.key), open1.map((f) => f.id));
    await shot("flags");
    const target = open1[0];
    const row = `#flags-table tr[data-flag="${target.id}"]`;
    await page.click(`${row} button.confirm`);
    assert.equal(await page.textContent(`${row} .error`), "메모를 입력하세요.");
    await page.fill(`${row} input.note-input`, "콘솔 검토: 동일 가맹점 반복");
    await redrawn(() => page.click(`${row} button.confirm`));
    rows = await cells("#flags-table tbody tr");
    assert.deepEqual(rows.map((r) => r.key), open1.slice(1).map((f) => f.id));
    const confirmed = (await api(token, "/v1/flags?from=2020-03-01&to=2020-03-31&status=confirmed")).flags;
    assert.deepEqual(confirmed.map((f) => [f.id, f.review.note]), [[target.id, "콘솔 검토: 동일 가맹점 반복"]]);
  });

  await step("English labels, the same figures", async () => {
    await redrawn(() => page.click("#lang"));
    await open("#overview?month=2020-03");
    assert.equal(await page.textContent('#nav a[data-page="overview"]'), "Overview");
    assert.equal(await page.textContent("#overview-table thead th:nth-child(3)"), "Loaded");
    const s = await api(token, "/v1/districts/bupyeong/summary?from=2020-03-01&to=2020-03-31");
    const [row] = await cells('#overview-table tbody tr[data-district="bupyeong"]');
    expectWon(row.loaded, s.loaded, "bupyeong loaded (en)");
    await shot("overview-en");
    await redrawn(() => page.click("#lang"));
  });

  await step("signing out forgets the token", async () => {
    await page.click("#signout");
    await page.waitForSelector("#signin:not([hidden])");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("evoucher.token")), null);
  });

  await step("a district admin sees only its own district", async () => {
    page = await newPage();
    await page.goto(`${base}/console/`);
    await page.fill("#token", env.DISTRICT_TOKEN);
    await page.click("#signin-button");
    await page.waitForSelector("#app:not([hidden])");
    await open("#overview?month=2020-03");
    const rows = await cells("#overview-table tbody tr[data-district]");
    assert.deepEqual(rows.map((r) => r.key), ["yeonsu"]);
    await open("#batches?from=2020-03-01&to=2020-03-31");
    const districts = await page.$$eval("#batches-table tbody tr", (t) => [...new Set(t.map((r) => r.dataset.district))]);
    assert.deepEqual(districts, ["yeonsu"]);
    await shot("overview-district-admin");
  });

  assert.deepEqual(problems, [], "the pages logged no errors");
  console.log(`all ${steps.length} checks passed; screenshots in ${out}`);
} catch (e) {
  console.error(`FAILED after ${steps.length} checks: ${e.stack || e}`);
  if (page) await page.screenshot({ path: `${out}/failure.png` }).catch(() => {});
  if (problems.length) console.error(problems.join("\n"));
  process.exitCode = 1;
} finally {
  await browser.close();
}
