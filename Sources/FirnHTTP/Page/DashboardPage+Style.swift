extension DashboardPage {
    static let style = #"""
        :root { --bg: #f7f8fa; --fg: #1d2430; --muted: #5f6b7a; --line: #d5dae1; --ok: #2f9e44; --warn: #e8a317;
          --full: #d9480f; --accent: #1c7ed6; --card: #fff; font-family: system-ui, sans-serif; }
        body { margin: 0; background: var(--bg); color: var(--fg); }
        header { display: flex; gap: 1rem; align-items: baseline; padding: .6rem 1.2rem; background: #14213d; color: #fff; }
        header h1 { margin: 0; font-size: 1.3rem; }
        #where { color: #cfd8e3; font-size: .9rem; }
        .dot { width: .7rem; height: .7rem; border-radius: 50%; background: #888; display: inline-block; margin-left: auto; }
        .dot.on { background: var(--ok); }
        main { padding: .8rem 1.2rem; }
        section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .9rem; margin-bottom: .9rem; }
        h2 { font-size: 1rem; margin: .2rem 0 .5rem; }
        .columns { display: grid; grid-template-columns: 3fr 2fr; gap: .9rem; }
        .columns section { margin-bottom: .9rem; min-width: 0; }
        section { overflow-x: auto; }
        @media (max-width: 900px) { .columns { grid-template-columns: 1fr; } }
        svg { width: 100%; height: auto; display: block; }
        svg text { font-size: 12px; fill: var(--fg); }
        svg .node rect { fill: #eef3fb; stroke: #7a8ca5; rx: 6; }
        svg .node .title { font-weight: 600; }
        svg .node .count { fill: var(--muted); }
        svg .edge { stroke: #9aa7b8; stroke-width: 2; fill: none; }
        svg .edge.moving { stroke: var(--accent); stroke-dasharray: 6 4; }
        svg .queue { stroke: #fff; stroke-width: 1; }
        svg .queue.ok { fill: var(--ok); } svg .queue.warn { fill: var(--warn); } svg .queue.full { fill: var(--full); }
        svg .axis { stroke: var(--line); } svg .rows { stroke: var(--accent); fill: none; stroke-width: 1.5; }
        svg .p50 { stroke: var(--ok); fill: none; stroke-width: 1.5; } svg .p99 { stroke: var(--full); fill: none; stroke-width: 1.5; }
        svg .version { fill: #d0e2ff; stroke: #4a6fa5; } svg .version.open { fill: #c3f0ca; stroke: var(--ok); }
        svg .version.deleted { fill: #f1f1f1; stroke: #9aa7b8; stroke-dasharray: 4 3; } tr.deleted td { color: var(--muted); }
        .legend { font-size: .85rem; color: var(--muted); }
        .key { display: inline-block; width: 1rem; height: .2rem; margin: 0 .3rem .2rem .8rem; }
        .key.rows { background: var(--accent); } .key.p50 { background: var(--ok); } .key.p99 { background: var(--full); }
        table { border-collapse: collapse; width: 100%; font-size: .85rem; }
        th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
        td.file { max-width: 22rem; overflow: hidden; text-overflow: ellipsis; }
        tbody tr.clickable { cursor: pointer; } tbody tr.clickable:hover, tbody tr.clickable:focus { background: #eef3fb; outline: none; }
        tr.selected { background: #e1ecfb; }
        .status-loaded { color: var(--ok); } .status-failed { color: var(--full); font-weight: 600; } .status-loading { color: var(--accent); }
        td.changed { background: #fff3bf; }
        svg .late { fill: var(--warn, #e8a33d); stroke: #8a5a00; } td.late { color: #8a5a00; font-weight: 600; }
        .error { color: var(--full); min-height: 1em; margin: .2rem 0; }
        .note { color: var(--muted); font-size: .85rem; margin: .2rem 0; }
        #bulletins { list-style: none; padding: 0; margin: 0; font-size: .85rem; max-height: 18rem; overflow: auto; }
        #bulletins li { border-left: 3px solid var(--full); padding: .2rem .5rem; margin-bottom: .3rem; }
        #bulletins li.rejects { border-color: var(--warn); }
        #bulletins .when { color: var(--muted); margin-right: .4rem; }
        form { display: flex; gap: .5rem; align-items: center; margin: .4rem 0; }
        input { padding: .3rem .4rem; border: 1px solid var(--line); border-radius: 4px; min-width: 14rem; }
        button { padding: .3rem .7rem; border: 1px solid #7a8ca5; background: #eef3fb; border-radius: 4px; cursor: pointer; }
        button:focus-visible, input:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
        #load-detail { margin-top: .6rem; font-size: .85rem; }
        #load-detail pre { white-space: pre-wrap; background: #f1f3f5; padding: .3rem; margin: 0; }
        """#
}
