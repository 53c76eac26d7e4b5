extension DashboardPage {
    /// The page's code: live status from `/api/events`, the rest from the JSON API. Text from
    /// the server is only ever set as text, never parsed as HTML.
    static let script = #"""
        "use strict";
        const $ = (id) => document.getElementById(id);
        const SVG = "http://www.w3.org/2000/svg";
        let latestLoad = -1, selectedLoad = null, asOfNext = null;

        function el(tag, attrs, ...children) {
          const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
          for (const [k, v] of Object.entries(attrs || {})) {
            if (k === "class") node.setAttribute("class", v);
            else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
            else node.setAttribute(k, v);
          }
          for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
          return node;
        }
        async function api(path, options) {
          const response = await fetch(path, options);
          const body = await response.json().catch(() => ({ error: response.statusText }));
          if (!response.ok) throw new Error(body.error || response.statusText);
          return body;
        }
        const num = (n) => (n === null || n === undefined) ? "–" : Number(n).toLocaleString("en");
        const ms = (s) => (s === null || s === undefined) ? "–" : (s < 1 ? Math.round(s * 1000) + " ms" : s.toFixed(2) + " s");
        const fit = (text) => text.length > 18 ? text.slice(0, 17) + "…" : text;
        function clear(node) { while (node.firstChild) node.firstChild.remove(); return node; }

        // The flow picture.
        function queueClass(n) { return n === 0 ? "ok" : n < 10 ? "ok" : n < 100 ? "warn" : "full"; }
        let previous = null, tick = 0;
        function drawFlow(s) {
          tick++;
          const svg = clear($("flow"));
          const moved = (now, before) => previous !== null && now > before;
          const g = s.generator, i = s.ingest, p = s.pipe;
          const nodes = [
            { id: "generate", title: "generate", lines: g ? [num(g.files) + " files", num(g.rows) + " rows"] : ["not in this process"] },
            { id: "landing", title: "landing", lines: i ? [num(i.uploaded + i.duplicate + i.failed + i.uploading) + " files seen"] : ["–"] },
            { id: "ingest", title: "ingest", lines: i ? [num(i.uploaded) + " uploaded", num(i.failed) + " failed", num(i.retries) + " retries"] : ["not in this process"] },
            { id: "bucket", title: "bucket", lines: [s.bucket ? s.bucket.split(":")[0] : "–", s.bucket ? "…" + s.bucket.slice(-16) : ""] },
            { id: "pipe", title: "pipe", lines: p ? [num(p.loaded) + " files", num(p.rowsRejected) + " rejected", p.suspended ? "SUSPENDED" : (num(p.failed) + " failed")] : ["not in this process"] },
            { id: "staging", title: s.tables.staging, lines: p ? [num(p.rowsLoaded) + " rows"] : ["–"] },
          ];
          const w = 128, h = 70, gap = 30, y = 40;
          nodes.forEach((n, k) => { n.x = 10 + k * (w + gap); n.y = y; });
          const fan = [
            { id: "scd1", title: s.tables.current + " (SCD1)", lines: [num(s.liveRows) + " rows"] },
            { id: "stream", title: s.tables.stream, lines: ["manual DML"] },
            { id: "scd2", title: s.tables.history + " (SCD2)", lines: p ? ["+" + num(p.versionsOpened) + " opened", num(p.versionsClosed) + " closed"] : ["–"] },
          ];
          const fx = 10 + nodes.length * (w + gap);
          fan.forEach((n, k) => { n.x = fx; n.y = 4 + k * 76; });
          svg.setAttribute("viewBox", `0 0 ${fx + w + 10} 230`);
          const queues = {
            "landing>ingest": i ? i.uploading : null,
            "bucket>pipe": p ? p.waiting : null,
            "pipe>staging": p ? p.loading : null,
          };
          const rowsMoving = p && previous && previous.pipe && p.rowsLoaded > previous.pipe.rowsLoaded;
          const edges = [];
          for (let k = 0; k + 1 < nodes.length; k++) edges.push([nodes[k], nodes[k + 1]]);
          for (const f of fan) edges.push([nodes[nodes.length - 1], f]);
          for (const [a, b] of edges) {
            const moving = rowsMoving || (g && previous && previous.generator && g.files > previous.generator.files);
            // Moving edges step forward once per update (a CSS animation would repaint every frame).
            svg.append(el("svg:path", { class: "edge" + (moving ? " moving" : ""), "stroke-dashoffset": -5 * (tick % 2),
              d: `M${a.x + w} ${a.y + h / 2} C ${a.x + w + gap / 2} ${a.y + h / 2}, ${b.x - gap / 2} ${b.y + h / 2}, ${b.x} ${b.y + h / 2}` }));
            const q = queues[a.id + ">" + b.id];
            if (q !== null && q !== undefined) {
              const cx = a.x + w + gap / 2, cy = a.y + h / 2;
              svg.append(el("svg:circle", { class: "queue " + queueClass(q), cx, cy, r: 11 },
                el("svg:title", {}, `${q} waiting between ${a.title} and ${b.title}`)));
              svg.append(el("svg:text", { x: cx, y: cy + 4, "text-anchor": "middle", fill: "#fff" }, String(q)));
            }
          }
          for (const n of nodes.concat(fan)) {
            const group = el("svg:g", { class: "node", id: "node-" + n.id });
            group.append(el("svg:rect", { x: n.x, y: n.y, width: w, height: h - 6 }));
            group.append(el("svg:title", {}, [n.title].concat(n.lines).join("\n")));
            group.append(el("svg:text", { class: "title", x: n.x + 8, y: n.y + 17 }, fit(n.title)));
            n.lines.forEach((line, k) => group.append(el("svg:text", { class: "count", x: n.x + 8, y: n.y + 33 + k * 13 }, fit(line))));
            svg.append(group);
          }
          const f = s.freshness;
          $("flow-note").textContent = (f ? `freshness p50 ${ms(f.p50)}, p99 ${ms(f.p99)}, max ${ms(f.max)} over ${num(f.count)} files` : "no file loaded by this process yet")
            + (s.lastError ? ` · last error: ${s.lastError}` : "");
          previous = s;
        }

        function onStatus(s) {
          $("where").textContent = `${s.entity} · warehouse ${s.warehouse}` + (s.bucket ? ` · bucket ${s.bucket}` : "") + ` · ${s.mode} · up ${Math.round(s.uptimeSeconds)} s`;
          drawFlow(s);
          if (s.latestLoadId !== latestLoad) { latestLoad = s.latestLoadId; refreshSoon(); }
        }
        // New loads refresh the tables at most every 2 s: a busy flow commits many files a second.
        let refreshTimer = null;
        function refreshSoon() {
          if (refreshTimer !== null) return;
          refreshTimer = setTimeout(() => { refreshTimer = null; refreshLoads(); refreshBulletins(); }, 2000);
        }

        // The last hour's plot.
        function drawChart(series) {
          const svg = clear($("chart"));
          const W = 1100, H = 220, L = 60, R = 60, T = 10, B = 24;
          const pts = series.points;
          svg.append(el("svg:line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
          if (pts.length < 2) { svg.append(el("svg:text", { x: L, y: 40 }, "collecting points (one every " + series.intervalSeconds + " s)…")); return; }
          const t0 = pts[0].at, t1 = pts[pts.length - 1].at;
          const x = (t) => L + (W - L - R) * (t - t0) / Math.max(1, t1 - t0);
          const maxRows = Math.max(1, ...pts.map((p) => p.rowsPerSecond));
          const maxF = Math.max(0.01, ...pts.map((p) => p.freshnessP99 || 0));
          const yr = (v) => H - B - (H - B - T) * v / maxRows, yf = (v) => H - B - (H - B - T) * v / maxF;
          const line = (cls, f, y) => {
            let d = "";
            for (const p of pts) { const v = f(p); if (v === null || v === undefined) continue; d += (d ? " L" : "M") + x(p.at).toFixed(1) + " " + y(v).toFixed(1); }
            if (d) svg.append(el("svg:path", { class: cls, d }));
          };
          line("rows", (p) => p.rowsPerSecond, yr);
          line("p50", (p) => p.freshnessP50, yf);
          line("p99", (p) => p.freshnessP99, yf);
          svg.append(el("svg:text", { x: 4, y: T + 10 }, num(Math.round(maxRows)) + " rows/s"));
          svg.append(el("svg:text", { x: W - R + 4, y: T + 10 }, ms(maxF)));
          svg.append(el("svg:text", { x: L, y: H - 6 }, new Date(t0).toLocaleTimeString()));
          svg.append(el("svg:text", { x: W - R, y: H - 6, "text-anchor": "end" }, new Date(t1).toLocaleTimeString()));
        }
        async function refreshChart() { try { drawChart(await api("/api/series")); } catch (e) { } }

        // Loads, their rejects and provenance.
        async function refreshLoads() {
          let page;
          try { page = await api("/api/loads?limit=20"); } catch (e) { return; }
          const body = clear($("loads").tBodies[0]);
          for (const l of page.items) {
            const open = () => showLoad(l);
            const row = el("tr", { class: "clickable" + (selectedLoad === l.id ? " selected" : ""), tabindex: 0, "data-load": l.id, "data-file": l.fileName.split("/").pop(),
              onclick: open, onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } } },
              el("td", {}, l.id), el("td", { class: "file", title: l.fileName }, l.fileName),
              el("td", { class: "status-" + l.status }, l.status), el("td", {}, num(l.rowsLoaded)), el("td", {}, num(l.rowsRejected)),
              el("td", {}, num(l.versionsOpened)), el("td", {}, num(l.versionsClosed)),
              el("td", { title: l.finishedAt || "" }, (l.finishedAt || "").slice(11, 23)));
            body.append(row);
          }
        }
        async function showLoad(load) {
          selectedLoad = load.id;
          for (const row of $("loads").tBodies[0].rows) row.classList.toggle("selected", row.dataset.load == load.id);
          const box = clear($("load-detail"));
          box.hidden = false;
          box.append(el("h3", {}, `Load ${load.id}: ${load.fileName}`));
          if (load.error) box.append(el("p", { class: "error" }, load.error));
          try {
            const rejects = await api(`/api/loads/${load.id}/rejects?limit=100`);
            if (rejects.items.length === 0) box.append(el("p", { class: "note" }, "no rejected rows"));
            else {
              const t = el("table", { id: "rejects" }, el("thead", {}, el("tr", {}, el("th", {}, "row"), el("th", {}, "reason"), el("th", {}, "raw text"))));
              const tb = el("tbody");
              for (const r of rejects.items) tb.append(el("tr", {}, el("td", {}, r.sourceRow), el("td", {}, r.reason), el("td", {}, el("pre", {}, r.rawText))));
              t.append(tb); box.append(t);
            }
            const p = await api(`/api/provenance?file=${encodeURIComponent(load.fileName)}`);
            const steps = el("ul", { id: "provenance" });
            for (const f of p.files) {
              steps.append(el("li", {}, `landed ${f.landedAt} at ${f.landingPath} (${num(f.size)} bytes)`));
              if (f.uploadedAt) steps.append(el("li", {}, `uploaded ${f.uploadedAt} as ${f.objectKey}, ETag ${f.etag || "?"}`));
              if (f.finishedAt) steps.append(el("li", {}, `${f.state} ${f.finishedAt} ${f.finalPath || ""}`));
            }
            for (const l of p.loads) steps.append(el("li", {}, `${l.status} ${l.finishedAt || l.startedAt}: load ${l.id}, ${num(l.rowsLoaded)} rows, versions opened ${num(l.versionsOpened)}, closed ${num(l.versionsClosed)}`));
            box.append(el("h4", {}, "Provenance"), steps);
          } catch (e) { box.append(el("p", { class: "error" }, e.message)); }
        }
        async function refreshBulletins() {
          let items;
          try { items = await api("/api/bulletins?limit=30"); } catch (e) { return; }
          const list = clear($("bulletins"));
          if (items.length === 0) list.append(el("li", { class: "rejects" }, "no errors"));
          for (const b of items) list.append(el("li", { class: b.source }, el("span", { class: "when" }, b.at), `${b.source}: ${b.message}`));
        }

        // Customer history and as-of.
        async function showHistory(key) {
          $("customer-error").textContent = "";
          let h;
          try { h = await api(`/api/history?key=${encodeURIComponent(key)}`); } catch (e) { $("customer-error").textContent = e.message; return; }
          const svg = clear($("timeline")), table = $("versions");
          if (h.versions.length === 0) { $("customer-error").textContent = `no versions for key ${h.key}`; svg.hidden = true; table.hidden = true; return; }
          const columns = h.keyColumns.concat(h.attributeColumns);
          // From the first start to the last change, plus a tenth for the open version.
          const parse = (text) => Date.parse(text.replace(" ", "T") + (text.endsWith("Z") ? "" : "Z"));
          const late = h.late || [];
          const t0 = Math.min(parse(h.versions[0].start), ...late.map((l) => parse(l.eventTime)));
          const last = Math.max(...h.versions.map((v) => parse(v.end || v.start)));
          const t1 = last + Math.max(1, (last - t0) / 10);
          const t = (text) => text ? parse(text) : t1;
          const x = (v) => 10 + 1080 * (v - t0) / Math.max(1, t1 - t0);
          h.versions.forEach((v, k) => {
            const a = x(t(v.start)), b = Math.max(a + 2, x(t(v.end)));
            svg.append(el("svg:rect", { class: "version" + (v.isDeleted ? " deleted" : v.isCurrent ? " open" : ""), x: a, y: 14, width: b - a, height: 26 },
              el("svg:title", {}, `${v.isDeleted ? "deleted" : "version"} ${k + 1}: ${v.start} → ${v.end || "open"}`)));
            if (b - a >= 14) svg.append(el("svg:text", { x: a + 3, y: 54 }, String(k + 1)));
          });
          // Late records: a marker at their event time, below the versions.
          const arrival = (l) => `load ${l.loadId} row ${l.sourceRow}`;
          for (const l of late) {
            const a = x(parse(l.eventTime));
            svg.append(el("svg:polygon", { class: "late", points: `${a},58 ${a - 5},68 ${a + 5},68` },
              el("svg:title", {}, `late ${l.operation} at ${l.eventTime}: arrived in ${arrival(l)}, after a record of ${l.latestBefore}`)));
          }
          const note = $("late-note");
          note.textContent = late.length === 0 ? "No late records." :
            `${late.length} late record${late.length === 1 ? "" : "s"} (▲): each arrived after a record of this key with a later event time, and took its place in history.`;
          note.hidden = false;
          svg.hidden = false;
          const head = clear(table.tHead), body = clear(table.tBodies[0]);
          head.append(el("tr", {}, el("th", {}, "#"), el("th", {}, "start"), el("th", {}, "end"), el("th", {}, "arrival"), ...columns.map((c) => el("th", {}, c))));
          h.versions.forEach((v, k) => {
            const before = k > 0 ? h.versions[k - 1].values : null;
            // A version opened by a late upsert, or closed by a late delete.
            const opened = late.find((l) => l.operation === "upsert" && l.eventTime === v.start);
            const closed = v.end && late.find((l) => l.operation === "delete" && l.eventTime === v.end);
            const marks = [opened ? `opened late (${arrival(opened)})` : "", closed ? `closed by a late delete (${arrival(closed)})` : ""].filter((m) => m);
            body.append(el("tr", { class: v.isDeleted ? "deleted" : v.isCurrent ? "current" : "" }, el("td", {}, v.isDeleted ? `${k + 1} (deleted)` : k + 1),
              el("td", {}, v.start), el("td", {}, v.end || "open"),
              el("td", { class: marks.length ? "late" : "" }, marks.length ? marks.join("; ") : "in order"),
              ...columns.map((c) => el("td", { class: before && JSON.stringify(before[c]) !== JSON.stringify(v.values[c]) ? "changed" : "" },
                v.values[c] === null ? "NULL" : v.values[c]))));
          });
          table.hidden = false;
        }
        async function showAsOf(time, more) {
          $("asof-error").textContent = "";
          const after = more && asOfNext ? `&after=${encodeURIComponent(asOfNext)}` : "";
          let page;
          try { page = await api(`/api/as-of?time=${encodeURIComponent(time)}&limit=50${after}`); } catch (e) { $("asof-error").textContent = e.message; return; }
          const table = $("asof");
          if (!more) {
            clear(table.tHead); clear(table.tBodies[0]);
            const first = page.items[0];
            if (first) table.tHead.append(el("tr", {}, ...Object.keys(first.values).map((c) => el("th", {}, c)), el("th", {}, "since")));
          }
          for (const v of page.items) table.tBodies[0].append(el("tr", {}, ...Object.values(v.values).map((value) => el("td", {}, value === null ? "NULL" : value)), el("td", {}, v.start)));
          table.hidden = false;
          asOfNext = page.next || null;
          $("asof-more").hidden = !asOfNext;
          if (page.items.length === 0 && !more) $("asof-error").textContent = "no keys were live then";
        }

        // Tasks and workers.
        async function taskAction(name, action) {
          $("task-error").textContent = "";
          try { await api(`/api/tasks/${encodeURIComponent(name)}/${action}`, { method: "POST", headers: { "X-Firn-Request": "1" } }); }
          catch (e) { $("task-error").textContent = e.message; }
          refreshTasks();
        }
        async function refreshTasks() {
          let tasks;
          try { tasks = await api("/api/tasks"); } catch (e) { return; }
          const body = clear($("tasks").tBodies[0]);
          if (tasks.length === 0) body.append(el("tr", {}, el("td", { colspan: 6 }, "no tasks defined")));
          for (const t of tasks) {
            const suspended = t.state === "suspended";
            body.append(el("tr", { "data-task": t.name }, el("td", {}, t.name), el("td", {}, t.trigger), el("td", { class: "state" }, t.state),
              el("td", {}, t.lastRunAt || ""), el("td", {}, t.lastStatus || ""),
              el("td", {}, el("button", { type: "button", onclick: () => taskAction(t.name, "run") }, "Run now"), " ",
                el("button", { type: "button", class: "toggle", onclick: () => taskAction(t.name, suspended ? "resume" : "suspend") }, suspended ? "Resume" : "Suspend"))));
          }
        }
        async function refreshWorkers() {
          let w;
          try { w = await api("/api/workers"); } catch (e) { return; }
          const body = clear($("workers").tBodies[0]);
          for (const k of w.workers) body.append(el("tr", {}, el("td", { title: `${k.id}, started ${k.startedAt}` }, `${k.host} pid ${k.processId}`),
            el("td", { title: k.heartbeatAt }, k.heartbeatAt.slice(11, 19)),
            el("td", {}, num(k.objectsLoaded)), el("td", {}, num(k.rowsLoaded)), el("td", {}, num(Math.round(k.rowsPerSecond))), el("td", {}, k.claimedObjects)));
          const l = w.schedulerLease;
          $("lease").textContent = l && l.isHeld ? `scheduler lease: ${l.holder} until ${l.expiresAt.slice(11, 19)}` : "scheduler lease: free";
        }

        function connect() {
          const source = new EventSource("/api/events");
          source.addEventListener("status", (e) => { $("live").classList.add("on"); onStatus(JSON.parse(e.data)); });
          source.onerror = () => $("live").classList.remove("on");
        }
        window.addEventListener("DOMContentLoaded", () => {
          $("customer-form").addEventListener("submit", (e) => { e.preventDefault(); showHistory($("customer-key").value.trim()); });
          $("asof-form").addEventListener("submit", (e) => { e.preventDefault(); showAsOf($("asof-time").value.trim(), false); });
          $("asof-more").addEventListener("click", () => showAsOf($("asof-time").value.trim(), true));
          connect();
          refreshChart(); refreshLoads(); refreshBulletins(); refreshTasks(); refreshWorkers();
          setInterval(refreshChart, 5000); setInterval(refreshTasks, 3000); setInterval(refreshWorkers, 5000);
        });
        """#
}
