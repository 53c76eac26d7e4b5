/// The dashboard page: plain HTML, CSS and JavaScript served by the binary, nothing fetched
/// from elsewhere, charts drawn as SVG by the page's own code.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Firn</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/app.css">
        <script src="/app.js" defer></script>
        </head>
        <body>
        <header>
          <h1>Firn</h1>
          <span id="where">connecting…</span>
          <span id="live" class="dot" title="live updates"></span>
        </header>
        <main>
        <section id="flow-section" aria-labelledby="flow-title">
          <h2 id="flow-title">Flow</h2>
          <svg id="flow" role="img" aria-label="the flow, stage by stage" viewBox="0 0 1100 230"></svg>
          <p id="flow-note" class="note"></p>
        </section>
        <section id="chart-section" aria-labelledby="chart-title">
          <h2 id="chart-title">Freshness and throughput, last hour</h2>
          <svg id="chart" role="img" aria-label="freshness and change rows per second over the last hour" viewBox="0 0 1100 220"></svg>
          <p class="legend"><span class="key rows"></span>change rows/s <span class="key p50"></span>freshness p50 <span class="key p99"></span>freshness p99</p>
        </section>
        <div class="columns">
        <section id="loads-section" aria-labelledby="loads-title">
          <h2 id="loads-title">Recent loads</h2>
          <table id="loads"><thead><tr><th>load</th><th>file</th><th>status</th><th>rows</th><th>rejected</th><th>opened</th><th>closed</th><th>finished</th></tr></thead><tbody></tbody></table>
          <div id="load-detail" hidden></div>
        </section>
        <section id="errors-section" aria-labelledby="errors-title">
          <h2 id="errors-title">Errors</h2>
          <ul id="bulletins"></ul>
        </section>
        </div>
        <section id="customer-section" aria-labelledby="customer-title">
          <h2 id="customer-title">Customer history</h2>
          <form id="customer-form">
            <label for="customer-key">Key</label>
            <input id="customer-key" name="key" autocomplete="off" placeholder="e.g. 42">
            <button type="submit">Show history</button>
          </form>
          <p id="customer-error" class="error" role="alert"></p>
          <svg id="timeline" role="img" aria-label="the key's versions over time" viewBox="0 0 1100 72" hidden></svg>
          <p id="late-note" class="note" hidden></p>
          <table id="versions" hidden><thead></thead><tbody></tbody></table>
          <form id="asof-form">
            <label for="asof-time">SCD1 as of</label>
            <input id="asof-time" name="time" placeholder="2026-12-01T10:15:30Z">
            <button type="submit">Show table</button>
          </form>
          <p id="asof-error" class="error" role="alert"></p>
          <table id="asof" hidden><thead></thead><tbody></tbody></table>
          <button id="asof-more" type="button" hidden>More rows</button>
        </section>
        <div class="columns">
        <section id="tasks-section" aria-labelledby="tasks-title">
          <h2 id="tasks-title">Tasks</h2>
          <table id="tasks"><thead><tr><th>task</th><th>trigger</th><th>state</th><th>last run</th><th>status</th><th></th></tr></thead><tbody></tbody></table>
          <p id="task-error" class="error" role="alert"></p>
        </section>
        <section id="workers-section" aria-labelledby="workers-title">
          <h2 id="workers-title">Workers</h2>
          <table id="workers"><thead><tr><th>worker</th><th>heartbeat</th><th>objects</th><th>rows</th><th>rows/s</th><th>claimed</th></tr></thead><tbody></tbody></table>
          <p id="lease"></p>
        </section>
        </div>
        </main>
        </body>
        </html>
        """#
}
