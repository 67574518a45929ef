// The evoucher admin console: a page per task, drawn from the same API every client uses. The
// token lives in this tab's sessionStorage only; every figure is the API's, formatted here.
"use strict";

const TOKEN_KEY = "evoucher.token";
const LANG_KEY = "evoucher.lang";

let lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "ko";
let me = null;        // {name, role, district}
let districts = [];   // the districts this token may read
const charts = {};

function t(key) {
  return TEXT[lang][key] ?? key;
}

// Won amounts grouped in the Korean way in both languages: 1,234,567원.
function won(n) {
  return `${Number(n).toLocaleString("ko-KR")}원`;
}

const seoulFormat = new Intl.DateTimeFormat("sv-SE", {
  timeZone: "Asia/Seoul", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
// An instant in Seoul time: 2020-03-02 10:00:00.
function seoul(iso) {
  return iso ? seoulFormat.format(new Date(iso)) : "";
}

// Builds an element: attributes (event handlers as on*), then children (text or nodes).
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A table cell with a won amount; data-value holds the raw number for checks and copies.
function wonCell(n, field) {
  return h("td", { class: "num", dataset: { field: field ?? "", value: String(n) } }, won(n));
}

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`, ...(options.headers || {}) };
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    signOut(t("signin.refused"));
    throw new ApiError(401, null);
  }
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) throw new ApiError(response.status, type.includes("json") ? await response.json() : null);
  return type.includes("json") ? response.json() : response.text();
}

// A CSV export, saved as the file the server names.
async function downloadCsv(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`, Accept: "text/csv" } });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || "export.csv";
  const url = URL.createObjectURL(await response.blob());
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

function showError(container, error) {
  container.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
}

function applyStaticText() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  document.getElementById("lang").textContent = t("lang.other");
  if (me) {
    const where = me.district ? ` · ${me.district}` : "";
    document.getElementById("who").textContent = `${me.name} (${t(`role.${me.role}`)}${where})`;
  }
}

// ---- sign-in ----

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  document.getElementById("app").hidden = true;
  document.getElementById("signin").hidden = false;
  const error = document.getElementById("signin-error");
  error.hidden = !message;
  error.textContent = message || "";
}

async function start() {
  try {
    me = await api("/v1/me");
    const all = (await api("/v1/districts")).districts;
    districts = all.filter((d) => !me.district || d.code === me.district);
  } catch (e) {
    if (e.status !== 401) signOut(e.message);
    return;
  }
  document.getElementById("signin").hidden = true;
  document.getElementById("app").hidden = false;
  applyStaticText();
  route();
}

// ---- routing: #page?key=value ----

function currentRoute() {
  const [page, query] = (location.hash.slice(1) || "overview").split("?");
  return { page, params: new URLSearchParams(query || "") };
}

function setParams(page, params) {
  const query = new URLSearchParams(params).toString();
  const hash = `#${page}${query ? `?${query}` : ""}`;
  if (location.hash !== hash) location.hash = hash;
  else route();
}

const pages = { overview, pools, batches, lookup, flags };
let generation = 0;  // each route() draws a new generation; an older render that finishes late draws nothing

function route() {
  if (!me) return;
  const mine = ++generation;
  const current = () => mine === generation;
  const { page, params } = currentRoute();
  const render = pages[page] || overview;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === page);
  for (const c of Object.values(charts)) c.destroy();
  for (const k of Object.keys(charts)) delete charts[k];
  const view = document.getElementById("view");
  view.replaceChildren(h("p", { class: "muted" }, t("common.loading")));
  view.dataset.page = page;
  view.dataset.ready = "false";
  render(view, params, current)
    .catch((e) => { if (current()) showError(view, e); })
    .finally(() => {
      if (!current()) return;
      view.dataset.generation = String(mine);  // tells a watcher (the browser test) which drawing is done
      view.dataset.ready = "true";
    });
}

function seoulToday() {
  return seoulFormat.format(new Date()).slice(0, 10);
}

function monthBounds(month) {
  const [y, m] = month.split("-").map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return [`${month}-01`, `${month}-${String(last).padStart(2, "0")}`];
}

function daysBefore(date, n) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - n);
  return d.toISOString().slice(0, 10);
}

// ---- overview ----

async function overview(view, params, current) {
  const month = params.get("month") || seoulToday().slice(0, 7);
  const [from, to] = monthBounds(month);
  const form = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); setParams("overview", { month: e.target.month.value }); } },
    h("label", {}, t("overview.month"), h("input", { type: "month", name: "month", value: month, required: true })),
    h("button", { type: "submit", class: "primary" }, t("common.show")));
  const summaries = await Promise.all(districts.map((d) => api(`/v1/districts/${encodeURIComponent(d.code)}/summary?from=${from}&to=${to}`)));
  const figures = summaries.map((s) => ({
    district: s.district,
    members: s.members,
    loaded: s.loaded,
    spent: s.payments.charged - s.cancelled,
    refunded: s.refunded,
    pending: s.cashback.pending,
    posted: s.cashback.posted.city + s.cashback.posted.district + s.cashback.posted.merchant,
    unfunded: s.cashback.unfunded,
    outstanding: s.outstanding.payable,
  }));
  const columns = ["loaded", "spent", "refunded", "pending", "posted", "unfunded", "outstanding"];
  const total = Object.fromEntries(["members", ...columns].map((c) => [c, figures.reduce((sum, f) => sum + f[c], 0)]));
  const nameOf = Object.fromEntries(districts.map((d) => [d.code, d.name]));
  const kpis = h("div", { class: "kpis" },
    [["overview.loaded", total.loaded], ["overview.spent", total.spent], ["overview.posted", total.posted], ["overview.outstanding", total.outstanding]]
      .map(([label, value]) => h("div", { class: "kpi" }, h("div", { class: "label" }, t(label)), h("div", { class: "value" }, won(value)))));
  const header = h("tr", {}, h("th", {}, t("common.district")), h("th", { class: "num" }, t("overview.members")),
    columns.map((c) => h("th", { class: "num" }, t(`overview.${c}`))));
  const rows = figures.map((f) => h("tr", { dataset: { district: f.district } },
    h("td", {}, `${nameOf[f.district] || f.district} (${f.district})`),
    h("td", { class: "num", dataset: { field: "members", value: String(f.members) } }, f.members.toLocaleString("ko-KR")),
    columns.map((c) => wonCell(f[c], c))));
  const totalRow = figures.length > 1
    ? h("tr", { class: "total", dataset: { district: "total" } }, h("td", {}, t("common.total")),
        h("td", { class: "num" }, total.members.toLocaleString("ko-KR")), columns.map((c) => wonCell(total[c], c)))
    : null;
  const csv = h("button", { type: "button", onclick: () => Promise.all(districts.map((d) =>
    downloadCsv(`/v1/districts/${encodeURIComponent(d.code)}/summary?from=${from}&to=${to}&format=csv`))).catch((e) => alert(e.message)) }, t("common.csv"));
  form.append(h("span", { class: "spacer" }), csv);
  if (!current()) return;
  view.replaceChildren(h("h1", {}, `${t("overview.title")} · ${month}`), form, kpis,
    h("div", { class: "card table-wrap" }, h("table", { id: "overview-table" }, h("thead", {}, header), h("tbody", {}, rows, totalRow))));
}

// ---- pools ----

function sourceLabel(source) {
  const [kind, rest] = source.split(":");
  return rest ? `${t(`source.${kind}`)} · ${rest}` : t(`source.${kind}`);
}

async function pools(view, params, current) {
  const list = (await api("/v1/pools")).pools;
  const selected = params.get("pool") || (list[0] && String(list[0].id));
  const rows = list.map((p) => h("tr", {
    class: `clickable${String(p.id) === selected ? " selected" : ""}`, dataset: { pool: String(p.id) },
    onclick: () => setParams("pools", { pool: p.id }),
  },
  h("td", {}, sourceLabel(p.source)), h("td", {}, `${p.period_start} ~ ${p.period_end}`),
  wonCell(p.budget, "budget"), wonCell(p.drawn, "drawn"), wonCell(p.remaining, "remaining"),
  h("td", { class: "num" }, `${((p.remaining / p.budget) * 100).toFixed(1)}%`)));
  const table = h("table", { id: "pools-table" },
    h("thead", {}, h("tr", {}, h("th", {}, t("pools.source")), h("th", {}, t("pools.period")),
      ["budget", "drawn", "remaining", "share"].map((c) => h("th", { class: "num" }, t(`pools.${c}`))))),
    h("tbody", {}, rows));
  const detail = h("div", { class: "card", id: "burn-down" });
  if (!current()) return;
  view.replaceChildren(h("h1", {}, t("pools.title")), h("div", { class: "card table-wrap" }, table), detail);
  if (!selected) {
    detail.append(h("p", { class: "empty" }, t("pools.pick")));
    return;
  }
  const burn = await api(`/v1/pools/${encodeURIComponent(selected)}/burn-down`);
  if (!current()) return;
  const f = burn.forecast;
  detail.append(h("h2", {}, `${t("pools.burndown")} · ${sourceLabel(burn.pool.source)}`),
    h("dl", { class: "facts" },
      h("dt", {}, t("pools.remaining")), h("dd", { dataset: { field: "remaining", value: String(burn.pool.remaining) } }, won(burn.pool.remaining)),
      h("dt", {}, t("pools.daily")), h("dd", { dataset: { field: "daily_draw", value: String(f.daily_draw) } }, won(f.daily_draw)),
      h("dt", {}, t("pools.runout")), h("dd", { dataset: { field: "runs_out_on", value: f.runs_out_on || "" } }, f.runs_out_on || t("pools.never"))),
    h("div", { class: "chart-box" }, h("canvas", { id: "burn-chart", "aria-label": t("pools.burndown") })));
  if (typeof Chart === "undefined" || burn.days.length === 0) return;
  const labels = burn.days.map((d) => d.business_date);
  const forecast = labels.map(() => null);
  if (f.runs_out_on && f.runs_out_on !== labels[labels.length - 1]) {
    forecast[forecast.length - 1] = burn.days[burn.days.length - 1].remaining;
    labels.push(f.runs_out_on);
    forecast.push(0);
  }
  charts.burn = new Chart(document.getElementById("burn-chart"), {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: t("pools.remaining"), data: burn.days.map((d) => d.remaining), borderColor: "#0a6cff", backgroundColor: "rgba(10,108,255,0.1)", fill: true, tension: 0.1 },
        { label: t("pools.forecast"), data: forecast, borderColor: "#a15c00", borderDash: [6, 4], spanGaps: true, pointRadius: 3 },
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { beginAtZero: true, ticks: { callback: (v) => won(v) } } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${won(c.parsed.y)}` } } },
    },
  });
}

// ---- batches ----

async function batches(view, params, current) {
  const to = params.get("to") || seoulToday();
  const from = params.get("from") || daysBefore(to, 13);
  const form = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); setParams("batches", { from: e.target.from.value, to: e.target.to.value }); } },
    h("label", {}, t("common.from"), h("input", { type: "date", name: "from", value: from, required: true })),
    h("label", {}, t("common.to"), h("input", { type: "date", name: "to", value: to, required: true })),
    h("button", { type: "submit", class: "primary" }, t("common.show")));
  const days = (await api(`/v1/batches/cashback?from=${from}&to=${to}`)).days;
  const part = (d, c, k) => (d.components ? d.components[c][k] : 0);
  const sum = (d, k) => ["city", "district", "merchant"].reduce((s, c) => s + part(d, c, k), 0);
  const rows = days.map((d) => h("tr", { class: d.status === "completed" ? "" : "pending", dataset: { district: d.district, date: d.business_date, status: d.status } },
    h("td", {}, d.business_date), h("td", {}, d.district),
    h("td", {}, h("span", { class: `badge ${d.status}` }, t(`status.${d.status}`))),
    h("td", { class: "num" }, d.run || ""), h("td", {}, seoul(d.completed_at)),
    h("td", { class: "num", dataset: { field: "count", value: String(d.components ? d.components.city.count : 0) } }, d.components ? d.components.city.count : ""),
    wonCell(sum(d, "posted"), "posted"), wonCell(sum(d, "unfunded"), "unfunded")));
  if (!current()) return;
  view.replaceChildren(h("h1", {}, t("batches.title")), form, h("p", { class: "muted" }, t("batches.pending_note")),
    h("div", { class: "card table-wrap" }, days.length === 0 ? h("p", { class: "empty" }, t("common.empty")) :
      h("table", { id: "batches-table" },
        h("thead", {}, h("tr", {}, ["batches.date", "common.district", "batches.status"].map((k) => h("th", {}, t(k))),
          h("th", { class: "num" }, t("batches.run")), h("th", {}, t("batches.completed_at")),
          ["batches.count", "batches.posted", "batches.unfunded"].map((k) => h("th", { class: "num" }, t(k))))),
        h("tbody", {}, rows))));
}

// ---- members and merchants ----

async function lookup(view, params, current) {
  const member = params.get("member") || "";
  const merchant = params.get("merchant") || "";
  const after = params.get("after") || "";
  const memberForm = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); setParams("lookup", { member: e.target.member.value.trim() }); } },
    h("label", {}, t("lookup.member_id"), h("input", { name: "member", value: member, required: true })),
    h("button", { type: "submit", class: "primary" }, t("common.show")));
  const merchantForm = h("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); setParams("lookup", { merchant: e.target.merchant.value.trim() }); } },
    h("label", {}, t("lookup.merchant_id"), h("input", { name: "merchant", value: merchant, required: true })),
    h("button", { type: "submit", class: "primary" }, t("common.show")));
  const memberCard = h("div", { class: "card", id: "member-card" }, h("h2", {}, t("lookup.member")), memberForm);
  const merchantCard = h("div", { class: "card", id: "merchant-card" }, h("h2", {}, t("lookup.merchant")), merchantForm);
  if (!current()) return;
  view.replaceChildren(h("h1", {}, t("nav.lookup")), h("div", { class: "split" }, memberCard, merchantCard));
  if (member) {
    const box = h("div");
    memberCard.append(box);
    try {
      const m = await api(`/v1/members/${encodeURIComponent(member)}`);
      const fact = (label, value, field) => [h("dt", {}, t(label)), h("dd", { dataset: { field, value: String(value) } }, won(value))];
      box.append(h("dl", { class: "facts" },
        h("dt", {}, t("common.district")), h("dd", {}, m.district),
        fact("lookup.cash", m.cash, "cash"), fact("lookup.points", m.points, "points"),
        fact("lookup.pending", m.pending_cashback, "pending_cashback"),
        fact("lookup.month_loaded", m.month.loaded, "month_loaded"),
        fact("lookup.month_eligible", m.month.eligible_spent, "month_eligible_spent"),
        (m.programs || []).flatMap((p) => [h("dt", {}, `${t("lookup.programs")} · ${p.program}`), h("dd", {}, `${won(p.balance)} (~${p.expires_on})`)])));
      const page = await api(`/v1/members/${encodeURIComponent(member)}/statement?limit=10${after ? `&after=${encodeURIComponent(after)}` : ""}`);
      const rows = page.entries.map((e) => h("tr", {}, h("td", {}, seoul(e.at)), h("td", {}, e.kind), h("td", {}, e.balance),
        wonCell(e.amount, "amount"), wonCell(e.balance_after, "balance_after")));
      box.append(h("h3", {}, t("lookup.statement")),
        page.entries.length === 0 ? h("p", { class: "empty" }, t("common.empty")) :
          h("table", { id: "statement-table" }, h("thead", {}, h("tr", {},
            ["lookup.at", "lookup.kind", "lookup.balance"].map((k) => h("th", {}, t(k))),
            ["lookup.amount", "lookup.after"].map((k) => h("th", { class: "num" }, t(k))))), h("tbody", {}, rows)),
        h("div", { class: "pager" },
          after ? h("button", { type: "button", onclick: () => setParams("lookup", { member }) }, t("common.first")) : null,
          page.next ? h("button", { type: "button", id: "statement-next", onclick: () => setParams("lookup", { member, after: page.next }) }, t("common.next")) : null));
    } catch (e) {
      showError(box, e);
    }
  }
  if (merchant) {
    const box = h("div");
    merchantCard.append(box);
    try {
      const m = await api(`/v1/merchants/${encodeURIComponent(merchant)}`);
      const benefit = m.benefit ? `${m.benefit.kind} ${(m.benefit.rate_bp / 100).toFixed(1)}%` : t("lookup.none");
      box.append(h("dl", { class: "facts" },
        h("dt", {}, t("lookup.name")), h("dd", {}, m.name),
        h("dt", {}, t("common.district")), h("dd", {}, m.district),
        h("dt", {}, t("lookup.category")), h("dd", {}, m.category),
        h("dt", {}, t("lookup.status")), h("dd", {}, m.status),
        h("dt", {}, t("lookup.benefit")), h("dd", {}, benefit),
        h("dt", {}, t("lookup.revenue")), h("dd", {}, won(m.annual_revenue)),
        h("dt", {}, t("lookup.payable")), h("dd", { dataset: { field: "payable", value: String(m.payable) } }, won(m.payable))));
    } catch (e) {
      showError(box, e);
    }
  }
}

// ---- fraud flags ----

async function flags(view, params, current) {
  const to = params.get("to") || seoulToday();
  const from = params.get("from") || `${to.slice(0, 7)}-01`;
  const status = params.get("status") ?? "open";
  const rule = params.get("rule") || "";
  const rules = ["repeat", "large", "burst", "own_shop", "sales_over_revenue"];
  const query = new URLSearchParams({ from, to, limit: "200" });
  if (status) query.set("status", status);
  if (rule) query.set("rule", rule);
  const form = h("form", { class: "toolbar", onsubmit: (e) => {
    e.preventDefault();
    const f = e.target;
    setParams("flags", { from: f.from.value, to: f.to.value, status: f.status.value, rule: f.rule.value });
  } },
  h("label", {}, t("common.from"), h("input", { type: "date", name: "from", value: from, required: true })),
  h("label", {}, t("common.to"), h("input", { type: "date", name: "to", value: to, required: true })),
  h("label", {}, t("flags.status"), h("select", { name: "status" },
    [["", t("flags.all")], ...["open", "cleared", "confirmed"].map((s) => [s, t(`status.${s}`)])]
      .map(([v, label]) => h("option", { value: v, selected: v === status }, label)))),
  h("label", {}, t("flags.rule"), h("select", { name: "rule" },
    [["", t("flags.all")], ...rules.map((r) => [r, t(`rule.${r}`)])].map(([v, label]) => h("option", { value: v, selected: v === rule }, label)))),
  h("button", { type: "submit", class: "primary" }, t("common.show")),
  h("span", { class: "spacer" }),
  h("button", { type: "button", onclick: () => downloadCsv(`/v1/flags?${query}`).catch((e) => alert(e.message)) }, t("common.csv")));
  const list = (await api(`/v1/flags?${query}`)).flags;
  const mayReview = me.role !== "auditor";
  const rows = list.map((f) => {
    const note = h("input", { class: "note-input", placeholder: t("flags.note"), "aria-label": t("flags.note") });
    const suspend = h("input", { type: "checkbox" });
    const message = h("span", { class: "error", hidden: true });
    const review = async (outcome) => {
      if (!note.value.trim()) {
        message.textContent = t("flags.need_note");
        message.hidden = false;
        return;
      }
      try {
        await api(`/v1/flags/${encodeURIComponent(f.id)}/review`, {
          method: "POST",
          body: JSON.stringify({ outcome, note: note.value.trim(), ...(outcome === "confirmed" && suspend.checked ? { suspend_merchant: true } : {}) }),
        });
        route();
      } catch (e) {
        message.textContent = e.message;
        message.hidden = false;
      }
    };
    const actions = f.status === "open" && mayReview
      ? h("div", { class: "actions" }, note,
          h("button", { type: "button", class: "clear", onclick: () => review("cleared") }, t("flags.clear")),
          h("button", { type: "button", class: "danger confirm", onclick: () => review("confirmed") }, t("flags.confirm")),
          h("label", { class: "suspend", title: t("flags.suspend") }, suspend, t("flags.suspend_short")), message)
      : h("span", { class: "muted" }, f.review ? `${f.review.by}: ${f.review.note}` : "");
    return h("tr", { dataset: { flag: f.id, status: f.status } },
      h("td", {}, seoul(f.at)), h("td", {}, t(`rule.${f.rule}`)), h("td", {}, h("span", { class: `badge ${f.status}` }, t(`status.${f.status}`))),
      h("td", {}, f.district), h("td", {}, f.member || ""), h("td", {}, f.merchant), h("td", { title: f.detail }, f.payment_id || f.month || ""),
      h("td", {}, actions));
  });
  if (!current()) return;
  view.replaceChildren(h("h1", {}, t("flags.title")), form,
    h("div", { class: "card table-wrap" }, list.length === 0 ? h("p", { class: "empty" }, t("common.empty")) :
      h("table", { id: "flags-table" }, h("thead", {}, h("tr", {},
        ["flags.at", "flags.rule", "flags.status", "common.district", "flags.member", "flags.merchant", "flags.payment", "flags.review"].map((k) => h("th", {}, t(k))))),
      h("tbody", {}, rows))));
}

// ---- wiring ----

document.getElementById("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  start();
});
document.getElementById("signout").addEventListener("click", () => signOut(""));
document.getElementById("lang").addEventListener("click", () => {
  lang = lang === "ko" ? "en" : "ko";
  localStorage.setItem(LANG_KEY, lang);
  applyStaticText();
  route();
});
window.addEventListener("hashchange", route);
applyStaticText();
if (sessionStorage.getItem(TOKEN_KEY)) start();
else signOut("");
