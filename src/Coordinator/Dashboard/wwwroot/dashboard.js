// Sweep dashboard: renders the sweep view the server streams as server-sent events (/api/events); falls back to
// polling /api/state if the stream is unavailable. Written for this project; no libraries, nothing loaded from elsewhere.
"use strict";

(function () {
  const byId = (id) => document.getElementById(id);
  const fixed = (v, digits) => (typeof v === "number" ? v.toFixed(digits) : "-");
  let figuresVersion = null;
  let finished = false;
  let headerColumns = null;

  function cell(row, text, numeric) {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "num";
    row.appendChild(td);
    return td;
  }

  function sparkline(values) {
    const ns = "http://www.w3.org/2000/svg";
    const width = 90, height = 22;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("class", "sparkline");
    if (!values || values.length === 0) return svg;
    const min = Math.min(...values);
    const max = Math.max(Math.max(...values), min + 1e-9);
    const points = values.map((v, i) => {
      const x = values.length === 1 ? width / 2 : (i * width) / (values.length - 1);
      const y = height - 2 - ((v - min) / (max - min)) * (height - 4);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#1f77b4");
    line.setAttribute("stroke-width", "1.5");
    line.setAttribute("points", points.join(" "));
    svg.appendChild(line);
    return svg;
  }

  function renderRunning(view) {
    const body = byId("running-rows");
    body.replaceChildren();
    for (const r of view.running) {
      const tr = document.createElement("tr");
      tr.dataset.trial = r.trialId;
      cell(tr, r.trialId);
      cell(tr, String(r.stage), true);
      cell(tr, r.epochText, true);
      cell(tr, fixed(r.valAcc, 4), true);
      cell(tr, r.worker);
      cell(tr, r.elapsed, true);
      body.appendChild(tr);
    }
    byId("running-empty").hidden = view.running.length > 0;
  }

  function renderLeaderboard(view) {
    const columns = ["rank", "trial", "stage", "best val", "val per epoch", "epochs", "status", "seconds", "worker"].concat(view.paramColumns);
    if (headerColumns !== columns.join("|")) {
      const head = byId("leaderboard-head");
      head.replaceChildren();
      for (const c of columns) {
        const th = document.createElement("th");
        th.textContent = c;
        head.appendChild(th);
      }
      headerColumns = columns.join("|");
    }
    const body = byId("leaderboard-rows");
    body.replaceChildren();
    for (const r of view.leaderboard) {
      const tr = document.createElement("tr");
      tr.dataset.trial = r.trialId;
      cell(tr, String(r.rank), true);
      cell(tr, r.trialId);
      cell(tr, String(r.stage), true);
      cell(tr, fixed(r.bestValAcc, 4), true);
      cell(tr, "").appendChild(sparkline(r.valHistory));
      cell(tr, String(r.epochs), true);
      cell(tr, r.status);
      cell(tr, fixed(r.seconds, 1), true);
      cell(tr, r.worker || "-");
      for (const p of view.paramColumns) cell(tr, r.params[p] || "");
      body.appendChild(tr);
    }
  }

  function figureElement(f, version) {
    const figure = document.createElement("figure");
    figure.dataset.key = f.key;
    if (f.available) {
      const img = document.createElement("img");
      img.alt = f.title;
      img.src = "/plots/" + encodeURIComponent(f.key) + ".png?v=" + encodeURIComponent(version);
      figure.appendChild(img);
    } else {
      const p = document.createElement("p");
      p.className = "message";
      p.textContent = f.title + ": " + f.message;
      figure.appendChild(p);
    }
    const caption = document.createElement("figcaption");
    caption.className = "detail";
    caption.textContent = f.caption;
    figure.appendChild(caption);
    return figure;
  }

  function renderFigures(view) {
    if (figuresVersion === view.figuresVersion) return;
    figuresVersion = view.figuresVersion;
    const history = byId("history");
    const grid = byId("figures");
    history.replaceChildren();
    grid.replaceChildren();
    for (const f of view.figures) {
      if (f.key === "history-time") history.appendChild(figureElement(f, figuresVersion));
      else grid.appendChild(figureElement(f, figuresVersion));
    }
    if (view.figures.length === 0) {
      const p = document.createElement("p");
      p.className = "detail";
      p.textContent = "Plots appear when the first trial finishes.";
      history.appendChild(p);
    }
  }

  function render(payload) {
    const view = payload.view;
    const message = byId("message");
    message.hidden = !view.message;
    message.textContent = view.message || "";
    if (!view.ready) {
      byId("status-line").textContent = "waiting for the sweep";
      return;
    }
    finished = view.completed;
    document.title = "Sweep: " + view.name;
    byId("sweep-name").textContent = view.name;
    byId("status-line").textContent = view.completed
      ? "completed (" + view.stageCount + " stages)"
      : "stage " + view.stage + " of " + view.stageCount + (view.eta ? " | ETA " + view.eta : "");
    for (const k of ["pending", "running", "paused", "completed", "diverged", "failed", "pruned"]) byId("count-" + k).textContent = String(view.counts[k]);
    byId("best").textContent = view.best ? fixed(view.best.valAcc, 4) + " (" + view.best.trialId + ")" : "-";
    byId("best-params").textContent = view.best
      ? Object.entries(view.best.params).map(([k, v]) => k + "=" + v).join(", ")
      : "";
    renderRunning(view);
    renderLeaderboard(view);
    renderFigures(view);
    byId("read-at").textContent = "Last read " + view.readAt + " UTC.";
  }

  function poll() {
    fetch("/api/state")
      .then((response) => response.json())
      .then(render)
      .catch(() => { byId("status-line").textContent = "dashboard unreachable; retrying"; })
      .finally(() => setTimeout(poll, 2000));
  }

  if (window.EventSource) {
    const source = new EventSource("/api/events");
    source.onmessage = (event) => render(JSON.parse(event.data));
    source.onerror = () => {
      // A finished sweep's page keeps its last view when the server goes away (a `run` ends with its sweep).
      if (finished) source.close();
      else byId("status-line").textContent = "reconnecting...";
    };
  } else {
    poll();
  }
})();
