defmodule Snakepit.Metrics.StatusPage do
  # The status page at `/`: plain HTML and a little JavaScript, no build step. The script
  # fetches /status.json every `refresh_ms` and redraws one table per pool; without it the
  # page says so. Every value from the JSON goes into the DOM as text (textContent), never
  # as markup.
  @moduledoc false

  @doc "The page, refreshing itself every `refresh_ms` milliseconds."
  def html(refresh_ms) when is_integer(refresh_ms) do
    """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>Snakepit status</title>
    <style>
    body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
    h1 { font-size: 1.3em; margin: 0 0 .2em; }
    #meta { color: #666; margin-bottom: 1em; }
    section { margin-bottom: 1.5em; }
    h2 { font-size: 1.1em; margin: 0 0 .3em; }
    table { border-collapse: collapse; }
    th, td { border: 1px solid #ccc; padding: .2em .6em; text-align: right; }
    th { background: #f3f3f3; }
    td.status { text-align: left; }
    .bar { display: inline-block; width: 120px; height: .8em; background: #eee; vertical-align: middle; }
    .bar > span { display: block; height: 100%; background: #3a7; }
    .busy .bar > span, .full .bar > span { background: #d83; }
    #error { color: #b00; }
    </style>
    </head>
    <body>
    <h1>Snakepit status</h1>
    <div id="meta" data-refresh-ms="#{refresh_ms}">
      node <span id="node">?</span>, updated <span id="updated">never</span>
      (<span id="refreshes">0</span> refreshes, every #{refresh_ms} ms)
      <span id="error"></span>
    </div>
    <div id="pools"><noscript>This page draws the pools with JavaScript; /status.json and /metrics hold the same figures.</noscript></div>
    <script>
    (function () {
      var refreshMs = #{refresh_ms}, refreshes = 0;

      function el(tag, attrs, text) {
        var e = document.createElement(tag);
        for (var k in attrs) e.setAttribute(k, attrs[k]);
        if (text !== undefined) e.textContent = String(text);
        return e;
      }

      function row(cells, tag) {
        var tr = el("tr", {});
        cells.forEach(function (c) { tr.appendChild(el(tag || "td", {}, c)); });
        return tr;
      }

      function bar(load, capacity) {
        var b = el("span", {class: "bar"}), fill = el("span", {});
        fill.style.width = (capacity > 0 ? Math.round(100 * load / capacity) : 0) + "%";
        b.appendChild(fill);
        return b;
      }

      function pool(p) {
        var s = el("section", {"data-pool": p.pool, "data-load": p.load,
                               "data-capacity": p.capacity, "data-queue": p.queue_length});
        s.appendChild(el("h2", {}, p.pool + " (" + p.profile + ")"));
        var t = el("table", {class: "summary"});
        t.appendChild(row(["workers", "retiring", "capacity", "load", "utilisation", "queue", "max queue", "requests ok", "errors"], "th"));
        var r = row([p.worker_count, p.retiring, p.capacity, p.load, p.utilization + "%",
                     p.queue_length, p.max_queue_size, p.requests.ok || 0,
                     (p.requests.error || 0) + (p.requests.exception || 0)]);
        r.className = "figures";
        t.appendChild(r);
        s.appendChild(t);
        var w = el("table", {class: "workers"});
        w.appendChild(row(["worker", "status", "load", "capacity", "", "requests", "memory (bytes)"], "th"));
        p.workers.forEach(function (x) {
          var tr = el("tr", {class: x.status, "data-worker": x.id});
          tr.appendChild(el("td", {}, x.id));
          tr.appendChild(el("td", {class: "status"}, x.status));
          tr.appendChild(el("td", {}, x.load));
          tr.appendChild(el("td", {}, x.capacity));
          var c = el("td", {}); c.appendChild(bar(x.load, x.capacity)); tr.appendChild(c);
          tr.appendChild(el("td", {}, x.requests));
          tr.appendChild(el("td", {}, x.memory));
          w.appendChild(tr);
        });
        s.appendChild(w);
        return s;
      }

      function draw(status) {
        var pools = document.getElementById("pools");
        while (pools.firstChild) pools.removeChild(pools.firstChild);
        if (status.pools.length === 0) pools.appendChild(el("p", {id: "no-pools"}, "No pool runs on this node."));
        status.pools.forEach(function (p) { pools.appendChild(pool(p)); });
        document.getElementById("node").textContent = status.node;
        document.getElementById("updated").textContent = status.generated_at;
        document.getElementById("refreshes").textContent = String(++refreshes);
        document.getElementById("error").textContent = "";
      }

      function refresh() {
        fetch("/status.json", {cache: "no-store"})
          .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
          .then(draw)
          .catch(function (e) { document.getElementById("error").textContent = "(refresh failed: " + e.message + ")"; })
          .then(function () { setTimeout(refresh, refreshMs); });
      }

      refresh();
    })();
    </script>
    </body>
    </html>
    """
  end
end
