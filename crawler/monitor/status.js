// The status page: polls /status.json and draws it. No libraries, no
// network but this server.
"use strict";

function size(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function duration(secs) {
  secs = Math.round(secs);
  const h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
  return (h ? h + " h " : "") + (h || m ? m + " min " : "") + s + " s";
}

function text(id, value) { document.getElementById(id).textContent = value; }

function cell(tr, value, cls) {
  const td = document.createElement("td");
  td.textContent = value;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function table(id, head, rows, empty) {
  const t = document.getElementById(id);
  t.replaceChildren();
  if (rows.length === 0) {
    const tr = t.insertRow();
    cell(tr, empty, "empty");
    return;
  }
  const hr = t.insertRow();
  head.forEach(([name, cls]) => {
    const th = document.createElement("th");
    th.textContent = name;
    if (cls) th.className = cls;
    hr.appendChild(th);
  });
  rows.forEach(r => {
    const tr = t.insertRow();
    r.forEach(([v, cls]) => cell(tr, v, cls));
  });
}

function chart(points) {
  const c = document.getElementById("chart");
  const w = c.clientWidth || 1000, h = c.clientHeight || 180;
  const dpr = window.devicePixelRatio || 1;
  c.width = w * dpr; c.height = h * dpr;
  const g = c.getContext("2d");
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  const top = Math.max(1, ...points.map(p => Math.max(p.pages_per_s, p.errors_per_s)));
  g.strokeStyle = "#e3e6eb"; g.fillStyle = "#6b7385"; g.font = "11px system-ui, sans-serif";
  for (let i = 0; i <= 4; i++) {
    const y = 6 + (h - 20) * i / 4;
    g.beginPath(); g.moveTo(36, y); g.lineTo(w, y); g.stroke();
    g.fillText(Math.round(top * (4 - i) / 4), 2, y + 4);
  }
  const x = i => 36 + (w - 40) * i / Math.max(1, points.length - 1);
  const y = v => 6 + (h - 20) * (1 - v / top);
  [["pages_per_s", "#2f7d4f"], ["errors_per_s", "#c0392b"]].forEach(([key, color]) => {
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    points.forEach((p, i) => (i ? g.lineTo(x(i), y(p[key])) : g.moveTo(x(i), y(p[key]))));
    g.stroke();
  });
}

function hostRows(rows) {
  return rows.map(r => [[r.host, "host"], [r.requests, "n"], [r.errors, r.errors ? "n bad" : "n"],
    [Math.round(r.avg_ms) + " ms", "n"], [Math.round(r.gap_ms) + " ms", "n"]]);
}
const hostHead = [["host"], ["requests", "n"], ["errors", "n"], ["avg", "n"], ["gap", "n"]];

async function refresh() {
  try {
    const res = await fetch("/status.json", { cache: "no-store" });
    const s = await res.json();
    const p = s.progress;
    text("rate", s.pages_per_s.toFixed(1));
    text("stored", p.stored);
    text("total", p.total);
    text("queued", p.queued);
    text("leased", p.leased);
    text("failed", p.failed);
    text("bytes", size(p.bytes + p.received));
    text("state", "running for " + duration(s.elapsed_s) + " · " + p.hosts + (p.hosts === 1 ? " host" : " hosts") +
      " with work · updated " + new Date().toLocaleTimeString());
    chart(s.rate);
    table("busiest", hostHead, hostRows(s.busiest), "no requests yet");
    table("slowest", hostHead, hostRows(s.slowest), "no requests yet");
    table("errors", [["kind"], ["count", "n"]], s.errors.map(e => [[e.kind], [e.count, "n bad"]]), "none");
    const holds = s.held.map(h => [[h.host, "host"], ["held " + Math.ceil(h.for_s) + " s"]])
      .concat(s.down.map(d => [[d, "host"], ["down", "bad"]]));
    table("holds", [["host"], ["state"]], holds, "none");
    if (s.revisits) {
      const r = s.revisits;
      document.getElementById("revisits").hidden = false;
      text("revisits-text", r.revisited + " revisited: " + r.changed + " changed, " + r.unchanged + " unchanged (" +
        r.not_modified + " answered 304, " + size(r.bytes_saved) + " not transferred), " + r.gone + " gone, " + r.new + " new, " +
        r.failed + " failed · " + Math.round(100 * r.changed_ratio) + "% changed · " + r.scheduled + " scheduled, " + r.due + " due now");
    }
    if (s.rendering) {
      const r = s.rendering;
      document.getElementById("rendering").hidden = false;
      text("rendering-text", r.busy + " of " + r.tabs + " tabs busy · " + r.rendered + " pages rendered, " + r.failed +
        " failed · " + Math.round(r.mean_ms) + " ms a page · " + r.restarts + " browser restarts");
    }
    if (s.shared) {
      const c = s.shared;
      document.getElementById("shared").hidden = false;
      text("shared-title", "Crawl " + c.crawl + ": " + c.completed + " pages in all, " + c.queued + " queued, " +
        c.leased + " leased, " + c.lost + " leases expired");
      table("procs", [["process"], ["completed", "n"], ["leased", "n"], ["state"]],
        c.processes.map(p => [[p.id, "host"], [p.completed, "n"], [p.leased, "n"],
          p.alive ? ["alive"] : ["gone since " + new Date(p.seen).toLocaleTimeString(), "bad"]]), "none");
    }
  } catch (e) {
    text("state", "no answer from trawl (the job may have ended)");
  }
}

refresh();
setInterval(refresh, 2000);
