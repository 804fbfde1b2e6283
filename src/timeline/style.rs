//! The timeline's look: colours of roles and message classes, arrowheads, the legend,
//! the stylesheet and the checkboxes that hide classes of shapes.

use std::fmt::Write;

use crate::types::Role;

/// The message classes: CSS class, colour, stroke width, legend label.
const CLASSES: [(&str, &str, f64, &str); 9] = [
    ("hb", "#9aa4ae", 1.3, "Heartbeat"),
    ("hbr", "#b9c0c7", 1.3, "Heartbeat reply"),
    ("ae", "#1f5fd6", 2.0, "AppendEntries"),
    ("aer", "#0e8f84", 1.3, "AppendEntries reply"),
    ("vote", "#7b2fe0", 1.6, "RequestVote (+reply)"),
    ("pv", "#b08cf0", 1.3, "PreVote (+reply)"),
    ("snap", "#e2620c", 2.2, "InstallSnapshot"),
    ("cli", "#d6307f", 1.3, "client"),
    ("other", "#222222", 1.3, "TimeoutNow"),
];

/// The message's class (its colour) and the checkbox group that hides it.
pub(super) fn class_of(kind: &str, heartbeat_reply: bool) -> (&'static str, &'static str) {
    match kind {
        "Heartbeat" => ("hb", "g-hb"),
        "AppendEntriesReply" if heartbeat_reply => ("hbr", "g-hb"),
        "AppendEntries" => ("ae", "g-repl"),
        "AppendEntriesReply" => ("aer", "g-repl"),
        "RequestVote" | "RequestVoteReply" => ("vote", "g-vote"),
        "PreVote" | "PreVoteReply" => ("pv", "g-vote"),
        "InstallSnapshot" | "InstallSnapshotReply" => ("snap", "g-repl"),
        "ClientRequest" | "ClientReply" => ("cli", "g-cli"),
        _ => ("other", "g-repl"),
    }
}

/// The roles' CSS class, band colour and text colour; `down` is a crashed node.
const ROLES: [(&str, &str, &str, &str); 5] = [
    ("fol", "#cfd8e2", "#36414d", "Follower"),
    ("pre", "#fbe28a", "#5a4700", "PreCandidate"),
    ("cand", "#f39a1e", "#3a2200", "Candidate"),
    ("lead", "#1e9e46", "#ffffff", "Leader (t = term)"),
    ("down", "#5c5c5c", "#ffffff", "crashed"),
];

pub(super) fn role_class(role: Role) -> &'static str {
    match role {
        Role::Follower => "fol",
        Role::PreCandidate => "pre",
        Role::Candidate => "cand",
        Role::Leader => "lead",
    }
}

/// The crash hatch and one arrowhead per message class.
pub(super) fn defs() -> String {
    let mut s = String::from(
        "<defs><pattern id='hatch' patternUnits='userSpaceOnUse' \
        width='7' height='7' patternTransform='rotate(45)'><line x1='0' y1='0' x2='0' \
        y2='7' stroke='#7a7a7a' stroke-width='2.5'/></pattern>",
    );
    for (class, color, _, _) in CLASSES {
        let _ = write!(
            s,
            "<marker id='ah-{class}' viewBox='0 0 10 10' refX='9' refY='5' \
            markerWidth='7' markerHeight='7' markerUnits='userSpaceOnUse' orient='auto'>\
            <path d='M0 0L10 5L0 10z' fill='{color}'/></marker>"
        );
    }
    s + "</defs>"
}

/// The colours of roles and message classes, from their tables.
pub(super) fn class_css() -> String {
    let mut s = String::new();
    for (class, fill, ink, _) in ROLES {
        let _ = write!(s, ".{class} rect{{fill:{fill}}}");
        let _ = write!(s, ".{class} text{{fill:{ink};stroke:{fill}}}");
    }
    for (class, color, width, _) in CLASSES {
        let _ = write!(s, ".c-{class} line{{stroke:{color};stroke-width:{width}}}");
    }
    s
}

/// The key to every colour and mark.
pub(super) fn legend() -> String {
    let swatch = |svg: &str, label: &str| {
        format!("<span><svg width='26' height='12'>{svg}</svg>{label}</span>")
    };
    let mut s = String::from("<div class='legend'>");
    for (_, fill, _, label) in ROLES {
        let r = format!("<rect width='26' height='12' rx='3' fill='{fill}'/>");
        s += &swatch(&r, label);
    }
    for (_, color, width, label) in CLASSES {
        let l = format!("<line x2='26' y1='6' y2='6' stroke='{color}' stroke-width='{width}'/>");
        s += &swatch(&l, label);
    }
    for (svg, label) in LEGEND_MARKS {
        s += &swatch(svg, label);
    }
    s + "<span>hover anything for details</span></div>"
}

const LEGEND_MARKS: [(&str, &str); 11] = [
    ("<line x2='26' y1='6' y2='6' stroke='#555' stroke-dasharray='4 2'/>", "dashed: a reply"),
    ("<path d='M9 2l8 8m0 -8l-8 8' stroke='#e0201b' stroke-width='2'/>", "dropped / blocked"),
    ("<text x='6' y='10' font-size='10' font-weight='700'>2×</text>", "duplicated"),
    ("<path d='M13 11l5 -9h-10z' fill='#f39a1e'/>", "election (pale: pre-vote)"),
    ("<circle cx='8' cy='6' r='4' fill='#1e9e46'/><circle cx='19' cy='6' r='3.5' fill='#fff' stroke='#e0201b' stroke-width='1.6'/>", "vote granted / refused (small: pre-vote)"),
    ("<path d='M13 2l5 5l-5 5l-5 -5z' fill='#1f5fd6'/>", "leader accepted a command"),
    ("<line x1='13' x2='13' y2='12' stroke='#111' stroke-width='1.5'/>", "c<i>n</i>: commit index"),
    ("<line x1='13' x2='13' y2='12' stroke='#e0201b' stroke-width='3'/>", "−a..b: entries truncated"),
    ("<rect width='13' height='12' fill='#fbe3e0'/><rect x='13' width='13' height='12' fill='#dfeafc'/>", "partition sides"),
    ("<rect width='26' height='12' fill='#ffd9a8'/>", "lossy network"),
    ("<rect width='26' height='12' fill='#eef0f3'/><path d='M4 0l3 3l-6 3l6 3l-3 3M22 0l3 3l-6 3l6 3l-3 3' fill='none' stroke='#6b7580' stroke-width='1.5'/>", "idle stretch, squeezed (its real length above)"),
];

pub(super) const CSS: &str = "
body{font:13px/1.4 system-ui,sans-serif;margin:12px 16px;color:#1d232a;background:#fff}
h1{font-size:19px;margin:0 0 2px}h2{font-size:15px;margin:18px 0 4px}.sum{margin:0 0 6px;color:#4a5560}
.ctl{display:inline-block;margin:0 14px 6px 0}.legend svg{overflow:visible}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:4px 0 8px;align-items:center}
.legend span{display:inline-flex;align-items:center;gap:4px}
.tl{display:flex;border:1px solid #ccd3da}.scroll{overflow-x:auto;flex:1}text{font-family:inherit}
.labels{flex:none;background:#f7f9fb;border-right:1px solid #ccd3da}
.labels .lane{font-weight:700;font-size:15px}.labels .strip{font-size:11px;fill:#5b6670}
.lanebg0{fill:#fff}.lanebg1{fill:#f5f7f9}.cl{stroke:#d6307f;stroke-opacity:.25}
.grid{stroke:#e3e7eb}.tick{font-size:11px;fill:#5b6670;text-anchor:middle}
.netstrip{fill:#ffd9a8}.netlane{fill:#ffb35c;opacity:.12}.pstrip{fill:#f0e6f7}
.plabel{font-size:11px;fill:#333;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:3px}.disc rect{fill:#e0e0e0;opacity:.8}
.pedge{stroke:#9b3cc2;stroke-dasharray:5 3;stroke-width:1.5}.seg rect{stroke:#fff;stroke-width:.5}
.seg text{font-size:11px;text-anchor:middle;font-weight:600;paint-order:stroke;stroke-width:4px}
.down rect.hatch{fill:url(#hatch);opacity:.35;stroke:none}
.m line{fill:none}.m:hover line{stroke-width:3}.m.reply line{stroke-dasharray:4 2}
.xm{stroke:#e0201b;stroke-width:2;fill:none}.dup{font-size:10px;fill:#000;font-weight:700}
.el{fill:#f39a1e;stroke:#7a4a00;stroke-width:.7}.elp{fill:#fbe28a;stroke:#8a7000;stroke-width:.7}
.vg{fill:#1e9e46;stroke:#0d5a26}.vr{fill:#fff;stroke:#e0201b;stroke-width:1.6}
.commit{stroke:#111;stroke-width:1.5}.ci{font-size:10px;fill:#111}
.trunc{stroke:#e0201b;stroke-width:3}.tr{font-size:10px;fill:#e0201b;font-weight:700}
.rej{fill:#e07b1b}.prop{fill:#1f5fd6;stroke:#fff;stroke-width:.8}.snapm{fill:#e2620c}.violn{stroke:#f00;stroke-width:3}
.crash{stroke:#c00;stroke-width:2.5}.crasht{fill:#c00;font-weight:800;font-size:11px}
.restart{stroke:#1e9e46;stroke-width:2.5}.restartt{fill:#1e7e36;font-weight:700;font-size:11px}
.story{font:12px/1.45 ui-monospace,Menlo,Consolas,monospace;color:#333}
.brkband{fill:#eef0f3;opacity:.85}.brk .zig{fill:none;stroke:#6b7580;stroke-width:1.5}
.brkt{font-size:11px;fill:#39424c;font-weight:700;text-anchor:middle}
.zoomctl{margin:0 0 6px}.zoomctl button{font:inherit;margin-right:4px;padding:1px 8px}
.zoomctl .hint{color:#5b6670}svg.main{user-select:none;-webkit-user-select:none;cursor:crosshair}
.sel{fill:#1f5fd6;fill-opacity:.12;stroke:#1f5fd6;stroke-width:1}
#f-hb:not(:checked)~.tl .g-hb,#f-vote:not(:checked)~.tl .g-vote,#f-repl:not(:checked)~.tl .g-repl,
#f-cli:not(:checked)~.tl .g-cli,#f-ok:not(:checked)~.tl .m.ok,#f-mk:not(:checked)~.tl .mk{display:none}
";

/// Checkboxes that hide classes of shapes: CSS `:checked ~` rules, no script.
pub(super) const CONTROLS: &str = "<b>Show:</b> \
<input type='checkbox' id='f-hb' checked><label class='ctl' for='f-hb'>heartbeats and their replies</label>\
<input type='checkbox' id='f-vote' checked><label class='ctl' for='f-vote'>votes and pre-votes</label>\
<input type='checkbox' id='f-repl' checked><label class='ctl' for='f-repl'>AppendEntries, replies, snapshots</label>\
<input type='checkbox' id='f-cli' checked><label class='ctl' for='f-cli'>client messages</label>\
<input type='checkbox' id='f-ok' checked><label class='ctl' for='f-ok'>delivered messages (off: only lost ones)</label>\
<input type='checkbox' id='f-mk' checked><label class='ctl' for='f-mk'>votes, commits and other marks</label>";
