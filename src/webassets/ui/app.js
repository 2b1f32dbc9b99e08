// The bench-dist coordinator's dashboard (served at /ui/ with index.html).
//
// Everything it shows comes from the coordinator's admin routes, called
// with the bearer token the user typed in (kept in this tab's
// sessionStorage, sent as an Authorization header, never put in a URL):
//   GET  ../state?since=&waitMs=        generators, phase, last result (long-poll)
//   GET  ../admin/live?since=&waitMs=   the running epoch's per-second series (long-poll)
//   GET  ../admin/results               the epoch history
//   GET  ../admin/campaigns[/<id>]      campaigns the control posted
//   POST ../admin/start-epoch, ../admin/stop-epoch
// Text from the coordinator (generator ids, labels, reasons) is hostile
// until proven otherwise: it only ever reaches the page through
// textContent, never as markup. window.benchdist exposes the charts and
// the last answers, for the browser test and for curious operators.
"use strict";

(function () {
  const TOKEN_KEY = "benchdist.token";
  const LONG_POLL_MS = 25000;
  // The live route asks clients not to come back faster than twice a second.
  const LIVE_MIN_INTERVAL_MS = 500;
  const CAMPAIGN_POLL_MS = 5000;
  const RETRY_MS = 2000;

  const bd = {
    charts: {},
    state: null,
    live: null,
    results: [],
    campaigns: [],
    campaign: null,
    liveAvailable: null, // null: not asked yet; false: the coordinator has no /admin/live
  };
  window.benchdist = bd;

  const $ = (id) => document.getElementById(id);

  // ---- HTTP ---------------------------------------------------------------

  class AuthError extends Error {}
  class HttpError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // One generation of loops per token: forgetting the token (or a 401)
  // starts a new generation, and the old loops end at their next turn.
  let generation = 0;
  let aborter = new AbortController();

  async function call(method, path, body) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token === null) throw new AuthError("no token");
    // "" : a coordinator without --auth-token (found by openWithoutToken).
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const init = { method, headers, cache: "no-store", signal: aborter.signal };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    const message = data && typeof data.error === "string" ? data.error : "HTTP " + res.status;
    if (res.status === 401) throw new AuthError(message);
    if (!res.ok) throw new HttpError(res.status, message);
    return data;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function failed(error) {
    if (error instanceof AuthError) {
      askForToken("The coordinator refused the token: " + error.message);
      return true;
    }
    return false;
  }

  function setConnection(text) {
    $("connection").textContent = text;
  }

  // ---- small DOM helpers (textContent only) --------------------------------

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  // A class name made of a value from the server: only [a-z] survive.
  const classFor = (prefix, value) => prefix + String(value || "none").toLowerCase().replace(/[^a-z]/g, "");

  const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
  const fmtTps = (v) => (isNumber(v) ? Math.round(v).toLocaleString("en-US") : "–");
  const fmtUs = (v) => (isNumber(v) ? (v / 1000).toFixed(v < 10000 ? 2 : 1) + " ms" : "–");
  const fmtCount = (v) => (isNumber(v) ? v.toLocaleString("en-US") : "–");
  const fmtTime = (iso) => (typeof iso === "string" ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "");

  // ---- charts --------------------------------------------------------------

  // Shades the measured window of the live epoch (options.plugins.windowShade
  // = {from, to} in x units) behind the lines.
  const windowShade = {
    id: "windowShade",
    beforeDatasetsDraw(chart, args, options) {
      if (!options || !isNumber(options.from)) return;
      const x = chart.scales.x;
      const area = chart.chartArea;
      const left = Math.max(area.left, x.getPixelForValue(options.from));
      const right = Math.min(area.right, isNumber(options.to) ? x.getPixelForValue(options.to) : area.right);
      if (right <= left) return;
      const ctx = chart.ctx;
      ctx.save();
      ctx.fillStyle = "rgba(29, 122, 58, 0.08)";
      ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
      ctx.restore();
    },
  };

  function lineDataset(label, color, extra) {
    return Object.assign(
      { label, data: [], borderColor: color, backgroundColor: color, borderWidth: 2, pointRadius: 2, tension: 0 },
      extra || {}
    );
  }

  function chartOptions(xTitle, yTitle) {
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: true,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: { type: "linear", title: { display: true, text: xTitle } },
        y: { beginAtZero: true, title: { display: true, text: yTitle } },
      },
      plugins: { legend: { position: "bottom" }, windowShade: {} },
    };
  }

  function makeCharts() {
    if (typeof Chart === "undefined") {
      $("live-note").textContent = "Chart.js did not load (chart.min.js): the charts are off.";
      return;
    }
    Chart.register(windowShade);
    bd.charts.tps = new Chart($("tps-chart"), {
      type: "line",
      data: {
        datasets: [
          // The two usually agree to a few percent: the server's line is
          // drawn wide and underneath, so the client's stays visible on it.
          lineDataset("server TPS", "rgba(35, 96, 165, 0.55)", { borderWidth: 5, pointRadius: 0, order: 2 }),
          lineDataset("client TPS", "#d9822b", { order: 1 }),
        ],
      },
      options: chartOptions("seconds since the epoch started", "transactions / s"),
    });
    bd.charts.latency = new Chart($("latency-chart"), {
      type: "line",
      data: {
        datasets: [lineDataset("p50", "#1d7a3a"), lineDataset("p99", "#b3261e"), lineDataset("max", "#8a94a0", { hidden: true })],
      },
      options: chartOptions("seconds since the epoch started", "latency (ms)"),
    });
    const campaignOptions = chartOptions("", "TPS");
    campaignOptions.plugins.windowShade = undefined;
    campaignOptions.interaction = { mode: "nearest", intersect: true };
    bd.charts.campaign = new Chart($("campaign-chart"), {
      type: "line",
      data: { datasets: [] },
      options: campaignOptions,
    });
  }

  // ---- the token -----------------------------------------------------------

  function askForToken(message) {
    generation += 1;
    aborter.abort();
    aborter = new AbortController();
    sessionStorage.removeItem(TOKEN_KEY);
    $("dashboard").hidden = true;
    $("forget-token").hidden = true;
    $("token-panel").hidden = false;
    $("token-error").textContent = message || "";
    setConnection("");
    $("token-input").focus();
  }

  function connect() {
    generation += 1;
    const gen = generation;
    $("token-panel").hidden = true;
    $("dashboard").hidden = false;
    $("forget-token").hidden = false;
    $("token-error").textContent = "";
    setConnection("connecting...");
    stateLoop(gen);
    liveLoop(gen);
    campaignLoop(gen);
    refreshHistory();
  }

  // ---- coordinator state: generators, phase, last result --------------------

  let lastResultKey = null;

  async function stateLoop(gen) {
    let version = 0;
    while (gen === generation) {
      try {
        const s = await call("GET", "../state?since=" + version + "&waitMs=" + LONG_POLL_MS);
        if (gen !== generation) return;
        version = s.version;
        bd.state = s;
        setConnection("connected");
        renderState(s);
      } catch (e) {
        if (gen !== generation || failed(e)) return;
        setConnection("coordinator unreachable (" + e.message + "); retrying");
        await sleep(RETRY_MS);
      }
    }
  }

  function renderState(s) {
    const phase = $("phase");
    phase.textContent = s.phase || "?";
    phase.className = "badge " + classFor("phase-", s.phase);
    const epochLine = $("epoch-line");
    if (s.currentEpoch !== null && s.currentEpoch !== undefined) {
      epochLine.textContent = "epoch " + s.currentEpoch + (s.currentLabel ? " · " + s.currentLabel : "");
    } else if (s.lastResult) {
      epochLine.textContent = "last: epoch " + s.lastResult.epoch;
    } else {
      epochLine.textContent = "no epoch yet";
    }
    const running = s.currentEpoch !== null && s.currentEpoch !== undefined;
    $("start-button").disabled = s.phase !== "idle";
    $("stop-button").disabled = !running;
    renderGenerators();
    const r = s.lastResult;
    const key = r ? r.epoch + "@" + r.finishedAt : null;
    if (key !== lastResultKey) {
      lastResultKey = key;
      refreshHistory();
      refreshCampaigns();
    }
  }

  function renderGenerators() {
    const s = bd.state;
    const body = $("generators").tBodies[0];
    body.replaceChildren();
    const gens = (s && s.generators) || [];
    $("generators-empty").hidden = gens.length > 0;
    const live = bd.live && bd.live.running && bd.live.generators ? bd.live.generators : {};
    for (const g of gens) {
      const row = document.createElement("tr");
      row.dataset.generator = g.id;
      cell(row, g.id, "label");
      cell(row, g.hostname, "label");
      cell(row, g.localState, classFor("state-", g.localState));
      cell(row, g.included === false ? "no" : "yes");
      cell(row, fmtCount(g.openedConnections) + " / " + fmtCount(g.desiredConnections), "num");
      const l = Object.prototype.hasOwnProperty.call(live, g.id) ? live[g.id] : null;
      cell(row, l ? fmtCount(l.committed) : "", "num");
      cell(row, l ? fmtCount(l.errors) : "", "num");
      cell(row, fmtTime(g.lastSeenAt), "num");
      body.appendChild(row);
    }
  }

  // ---- the live series -----------------------------------------------------

  let seconds = new Map(); // client side: t -> entry
  let server = new Map(); // server samples: atMs -> entry

  async function liveLoop(gen) {
    let version = 0;
    while (gen === generation) {
      const began = Date.now();
      try {
        const l = await call("GET", "../admin/live?since=" + version + "&waitMs=" + LONG_POLL_MS);
        if (gen !== generation) return;
        bd.liveAvailable = true;
        version = l.version;
        applyLive(l);
      } catch (e) {
        if (gen !== generation || failed(e)) return;
        if (e instanceof HttpError && e.status === 404) {
          // A coordinator from before the live series: the state's phase
          // and the history still work.
          bd.liveAvailable = false;
          $("live-note").textContent =
            "This coordinator has no live series (GET /admin/live): the charts fill in only with a newer coordinator.";
          return;
        }
        await sleep(RETRY_MS);
      }
      const wait = LIVE_MIN_INTERVAL_MS - (Date.now() - began);
      if (wait > 0) await sleep(wait);
    }
  }

  function applyLive(l) {
    const newEpoch = !bd.live || bd.live.epoch !== l.epoch;
    if (l.full || newEpoch) {
      seconds = new Map();
      server = new Map();
    }
    for (const s of l.seconds || []) seconds.set(s.t, s);
    for (const p of l.server || []) server.set(p.atMs, p);
    bd.live = l;
    renderLive();
    renderGenerators();
  }

  function renderLive() {
    const l = bd.live;
    if (!l) return;
    const title = $("live-title");
    if (l.epoch === null || l.epoch === undefined) {
      title.textContent = "no epoch yet";
    } else {
      title.textContent =
        "epoch " + l.epoch + (l.label ? " · " + l.label : "") + " · " + (l.running ? l.stage || l.phase : "finished");
    }
    const t = l.totals || {};
    $("tile-server-tps").textContent = fmtTps(t.serverTps);
    const complete = completeSeconds([...seconds.values()].sort((a, b) => a.t - b.t), l);
    const lastComplete = complete.length ? complete[complete.length - 1].tps : null;
    $("tile-client-tps").textContent = fmtTps(l.running && isNumber(lastComplete) ? lastComplete : t.clientTps);
    $("tile-p50").textContent = fmtUs(t.p50);
    $("tile-p99").textContent = fmtUs(t.p99);
    $("tile-errors").textContent = fmtCount(t.errors);
    $("tile-window").textContent = windowText(l);
    const result = $("live-result");
    if (l.result) {
      const reasons = (l.result.reasons || []).map((r) => (r && r.code) || "").filter(Boolean);
      result.textContent =
        "verdict: " + (l.result.verdict || "none") + ", " + fmtTps(l.result.tps) + " TPS" +
        (reasons.length ? " (" + reasons.join(", ") + ")" : "");
      result.className = classFor("verdict-", l.result.verdict);
    } else {
      result.textContent = "";
    }
    if (!bd.charts.tps) return;
    const origin = isNumber(l.startedAtMs) ? l.startedAtMs : 0;
    const x = (ms) => (ms - origin) / 1000;
    const secs = completeSeconds([...seconds.values()].sort((a, b) => a.t - b.t), l);
    const samples = [...server.values()].sort((a, b) => a.atMs - b.atMs);
    // A client second [t, t + 1 s) is drawn at its end, where the server's
    // rate over the same second is drawn too.
    const tpsSets = bd.charts.tps.data.datasets;
    tpsSets[0].data = samples.filter((p) => isNumber(p.tps)).map((p) => ({ x: x(p.atMs), y: p.tps }));
    tpsSets[1].data = secs.filter((s) => isNumber(s.tps)).map((s) => ({ x: x(s.t + 1000), y: s.tps }));
    const latSets = bd.charts.latency.data.datasets;
    ["p50", "p99", "max"].forEach((key, i) => {
      latSets[i].data = secs.filter((s) => isNumber(s[key])).map((s) => ({ x: x(s.t + 1000), y: s[key] / 1000 }));
    });
    const shade = { from: isNumber(l.windowStartMs) ? x(l.windowStartMs) : undefined };
    if (isNumber(l.windowEndMs)) shade.to = x(l.windowEndMs);
    for (const chart of [bd.charts.tps, bd.charts.latency]) {
      chart.options.plugins.windowShade = shade;
      chart.update("none");
    }
  }

  // The client seconds every generator has finished with, while the load
  // runs: a generator posts the second in progress too and the rest of it
  // later, so a second is complete once each generator has posted a later
  // one. Drawn earlier, the newest seconds would dip at the edge. A
  // generator that stops posting holds the line back by 3 s at most.
  const MAX_LAG_MS = 3000;
  function completeSeconds(secs, l) {
    if (!l.running || !secs.length) return secs;
    const has = (s, id) => s.generators && Object.prototype.hasOwnProperty.call(s.generators, id);
    const newestOverall = secs[secs.length - 1].t;
    let cutoff = newestOverall;
    for (const id of Object.keys(l.generators || {})) {
      let newest = -Infinity;
      for (const s of secs) if (has(s, id)) newest = s.t;
      cutoff = Math.min(cutoff, newest);
    }
    cutoff = Math.max(cutoff, newestOverall - MAX_LAG_MS);
    return secs.filter((s) => s.t < cutoff);
  }

  function windowText(l) {
    if (!isNumber(l.windowSeconds)) return "–";
    if (!isNumber(l.windowStartMs)) return l.running ? "warmup" : "–";
    const end = isNumber(l.windowEndMs) ? l.windowEndMs : Date.now();
    const done = Math.min(l.windowSeconds, Math.max(0, (end - l.windowStartMs) / 1000));
    return done.toFixed(1) + " / " + l.windowSeconds + " s";
  }

  // ---- the epoch history ---------------------------------------------------

  let historyRequest = 0;

  async function refreshHistory() {
    const mine = ++historyRequest;
    try {
      const answer = await call("GET", "../admin/results?limit=50");
      if (mine !== historyRequest) return;
      bd.results = answer.results || [];
      renderHistory();
    } catch (e) {
      if (failed(e) || e.name === "AbortError") return;
      $("history-empty").hidden = false;
      $("history-empty").textContent = "The history could not be read: " + e.message;
    }
  }

  function renderHistory() {
    const body = $("history").tBodies[0];
    body.replaceChildren();
    $("history-empty").hidden = bd.results.length > 0;
    $("history-empty").textContent = emptyText.history;
    for (const r of bd.results) {
      const row = document.createElement("tr");
      row.dataset.epoch = String(r.epoch);
      cell(row, r.epoch, "num");
      cell(row, r.label, "label");
      cell(row, (r.verdict || "none") + (r.aborted ? " (aborted)" : ""), classFor("verdict-", r.verdict));
      cell(row, fmtTps(r.tps), "num");
      cell(row, fmtUs(r.p50), "num");
      cell(row, fmtUs(r.p99), "num");
      cell(row, fmtTime(r.finishedAt), "num");
      cell(row, (r.reasons || []).join(", "));
      body.appendChild(row);
    }
  }

  // ---- campaigns -----------------------------------------------------------

  let chosenCampaign = null; // the user's pick; null: follow the newest

  async function campaignLoop(gen) {
    while (gen === generation) {
      await refreshCampaigns();
      await sleep(CAMPAIGN_POLL_MS);
    }
  }

  async function refreshCampaigns() {
    try {
      const answer = await call("GET", "../admin/campaigns");
      bd.campaigns = answer.campaigns || [];
      renderCampaignList();
      const id = chosenCampaign || (bd.campaigns[0] && bd.campaigns[0].id);
      const entry = bd.campaigns.find((c) => c.id === id);
      if (entry && (!bd.campaign || bd.campaign.campaign !== id || bd.campaign.updatedAt !== entry.updatedAt)) {
        await loadCampaign(id);
      }
    } catch (e) {
      if (failed(e) || e.name === "AbortError") return;
      $("campaigns-empty").hidden = false;
      $("campaigns-empty").textContent = "The campaigns could not be read: " + e.message;
    }
  }

  function renderCampaignList() {
    const select = $("campaign-select");
    $("campaigns-empty").hidden = bd.campaigns.length > 0;
    $("campaigns-empty").textContent = emptyText.campaigns;
    $("campaign-body").hidden = bd.campaigns.length === 0;
    const current = chosenCampaign || (bd.campaigns[0] && bd.campaigns[0].id);
    select.replaceChildren();
    for (const c of bd.campaigns) {
      const option = document.createElement("option");
      option.value = c.id;
      option.textContent =
        c.id + " · " + c.kind + " · " + c.status + " · " + c.points + " points · " + fmtTime(c.updatedAt);
      option.selected = c.id === current;
      select.appendChild(option);
    }
  }

  async function loadCampaign(id) {
    const c = await call("GET", "../admin/campaigns/" + encodeURIComponent(id));
    bd.campaign = c;
    renderCampaign();
  }

  const palette = ["#2360a5", "#d9822b", "#1d7a3a", "#6b4fa0", "#b3261e", "#138d90", "#8a6d3b"];

  // The points of a campaign as curves: sweep -- TPS against the first
  // varied knob, one curve per combination of the others; saturate -- the
  // search's curve (or its points while it runs) against its knob, with
  // the knee; runs -- TPS per run.
  function campaignCurves(c) {
    const points = Array.isArray(c.points) ? c.points : [];
    const tpsOf = (p) => (p && p.tps && isNumber(p.tps.median) ? p.tps.median : p && p.tps && isNumber(p.tps.mean) ? p.tps.mean : null);
    if (c.kind === "saturate") {
      const knob = (c.saturate && c.saturate.knob) || "load";
      let xy;
      if (Array.isArray(c.curve) && c.curve.length) {
        xy = c.curve.filter((p) => isNumber(p.load) && isNumber(p.tps)).map((p) => ({ x: p.load, y: p.tps, ok: p.sloOk !== false }));
      } else {
        xy = points
          .filter((p) => p.values && isNumber(p.values[knob]) && tpsOf(p) !== null)
          .map((p) => ({ x: p.values[knob], y: tpsOf(p), ok: p.sloOk !== false }));
      }
      xy.sort((a, b) => a.x - b.x);
      const sets = [
        lineDataset("TPS", palette[0], {
          data: xy.map((p) => ({ x: p.x, y: p.y })),
          pointRadius: 4,
          pointBackgroundColor: xy.map((p) => (p.ok ? palette[0] : "#b3261e")),
        }),
      ];
      if (c.knee && isNumber(c.knee.load) && isNumber(c.knee.tps)) {
        sets.push({
          label: "knee",
          data: [{ x: c.knee.load, y: c.knee.tps }],
          showLine: false,
          pointStyle: "triangle",
          pointRadius: 10,
          borderColor: "#b3261e",
          backgroundColor: "#b3261e",
        });
      }
      return { xTitle: knob, sets };
    }
    if (c.kind === "sweep" && Array.isArray(c.vary) && c.vary.length) {
      const knob = c.vary[0].knob;
      const others = c.vary.slice(1).map((v) => v.knob);
      const series = new Map();
      for (const p of points) {
        const y = tpsOf(p);
        if (!p.values || !isNumber(p.values[knob]) || y === null) continue;
        const name = others.length ? others.map((k) => k + "=" + p.values[k]).join(" ") : "TPS";
        if (!series.has(name)) series.set(name, []);
        series.get(name).push({ x: p.values[knob], y });
      }
      const sets = [...series.entries()].map(([name, xy], i) =>
        lineDataset(name, palette[i % palette.length], { data: xy.sort((a, b) => a.x - b.x), pointRadius: 4 })
      );
      return { xTitle: knob, sets };
    }
    const xy = points.filter((p) => tpsOf(p) !== null).map((p) => ({ x: (p.index || 0) + 1, y: tpsOf(p) }));
    return { xTitle: "run", sets: [lineDataset("TPS", palette[0], { data: xy, pointRadius: 4 })] };
  }

  function renderCampaign() {
    const c = bd.campaign;
    if (!c) return;
    const parts = [c.kind, c.status];
    if (c.message) parts.push(c.message);
    if (c.stopReason) parts.push("stop: " + c.stopReason);
    if (c.limit) parts.push("limit: " + c.limit);
    if (c.knee && isNumber(c.knee.load)) parts.push("knee at " + c.knee.load + " (" + fmtTps(c.knee.tps) + " TPS)");
    if (c.tps && isNumber(c.tps.mean)) parts.push("mean " + fmtTps(c.tps.mean) + " TPS over " + c.tps.n + " runs");
    parts.push("updated " + fmtTime(c.updatedAt));
    $("campaign-summary").textContent = parts.join(" · ");
    if (bd.charts.campaign) {
      const curves = campaignCurves(c);
      const chart = bd.charts.campaign;
      chart.data.datasets = curves.sets;
      chart.options.scales.x.title.text = curves.xTitle;
      chart.update("none");
    }
    const body = $("campaign-points").tBodies[0];
    body.replaceChildren();
    for (const p of c.points || []) {
      const row = document.createElement("tr");
      cell(row, p.description || "run " + ((p.index || 0) + 1), "label");
      cell(row, p.status, classFor("status-", p.status));
      cell(row, Array.isArray(p.epochs) ? p.epochs.length : 0, "num");
      cell(row, fmtTps(p.tps && p.tps.median), "num");
      cell(row, fmtUs(p.latency && p.latency.p99Us), "num");
      cell(row, p.sloOk === false ? "broken" : p.sloOk === true ? "met" : "");
      cell(row, (p.reasons || []).map((r) => (r && r.code) || "").filter(Boolean).join(", "));
      body.appendChild(row);
    }
  }

  // ---- start and stop ------------------------------------------------------

  function controlMessage(text, isError) {
    const p = $("control-message");
    p.textContent = text;
    p.className = isError ? "error" : "muted";
  }

  async function startEpoch(event) {
    event.preventDefault();
    const body = {};
    const label = $("start-label").value;
    if (label !== "") body.label = label;
    for (const [id, key] of [["start-window", "windowSeconds"], ["start-warmup", "warmupSeconds"]]) {
      const text = $(id).value;
      if (text === "") continue;
      const value = Number(text);
      if (!Number.isFinite(value) || value < 0) {
        controlMessage(key + " must be a number of seconds, got " + text, true);
        return;
      }
      body[key] = value;
    }
    $("start-button").disabled = true;
    try {
      const answer = await call("POST", "../admin/start-epoch", body);
      controlMessage(answer.message || (answer.started ? "started" : "not started"), !answer.started);
    } catch (e) {
      if (!failed(e)) controlMessage("start-epoch failed: " + e.message, true);
    } finally {
      if (bd.state) $("start-button").disabled = bd.state.phase !== "idle";
    }
  }

  async function stopEpoch() {
    try {
      const answer = await call("POST", "../admin/stop-epoch");
      controlMessage(answer.message || "", !answer.stopping);
    } catch (e) {
      if (!failed(e)) controlMessage("stop-epoch failed: " + e.message, true);
    }
  }

  // ---- wiring --------------------------------------------------------------

  // The page's own "nothing yet" texts, put back after an error replaced them.
  const emptyText = {};

  function init() {
    emptyText.history = $("history-empty").textContent;
    emptyText.campaigns = $("campaigns-empty").textContent;
    makeCharts();
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("token-input").value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token-input").value = "";
      connect();
    });
    $("forget-token").addEventListener("click", () => askForToken(""));
    $("start-form").addEventListener("submit", startEpoch);
    $("stop-button").addEventListener("click", stopEpoch);
    $("campaign-select").addEventListener("change", (event) => {
      chosenCampaign = event.target.value;
      loadCampaign(chosenCampaign).catch((e) => {
        if (!failed(e)) $("campaign-summary").textContent = "The campaign could not be read: " + e.message;
      });
    });
    // The live tile's window clock moves between answers too.
    setInterval(() => {
      if (bd.live && bd.live.running) $("tile-window").textContent = windowText(bd.live);
    }, 500);
    if (sessionStorage.getItem(TOKEN_KEY) !== null) connect();
    else openWithoutToken();
  }

  // A coordinator started without --auth-token says so on /healthz (which
  // never needs one): then there is nothing to ask for. Otherwise, or when
  // it cannot tell (an older coordinator), the prompt.
  async function openWithoutToken() {
    try {
      const res = await fetch("../healthz", { cache: "no-store" });
      const health = res.ok ? await res.json() : null;
      if (health && health.authRequired === false) {
        sessionStorage.setItem(TOKEN_KEY, "");
        connect();
        return;
      }
    } catch (e) {
      // Unreachable or not JSON: the prompt, which reports errors once a token is tried.
    }
    askForToken("");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
