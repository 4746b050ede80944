//! Charts and workflow diagrams as server-rendered SVG: no script, no vendored library, they
//! print, and they scale to a phone through their viewBox. Geometry is in f64; the numbers
//! drawn are counts and ratios computed exactly elsewhere, never money.
use crate::domain::workflow::{Target, Workflow};
use std::fmt::Write;

/// Text for an SVG text node or attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A round axis maximum at or above `max` (1, 2 or 5 times a power of ten).
/// The value axis for values up to `max`: a round step (1, 2 or 5 times a power of ten) and
/// the number of steps (at most five) that reach past `max`. Counts (`whole`) step by whole
/// numbers, so that no axis reads "1.5 cases".
fn axis(max: f64, whole: bool) -> (f64, u32) {
    if max <= 0.0 {
        return (1.0, 1);
    }
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    if whole {
        step = step.max(1.0);
    }
    (step, (max / step).ceil().max(1.0) as u32)
}

fn label_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// One series of a bar chart: its name in the legend and its CSS class (colour).
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
}

/// Grouped vertical bars: one group per label, one bar per series. `title` is the accessible
/// name; every bar also carries its value as a tooltip.
pub fn bar_chart(
    title: &str,
    labels: &[String],
    series: &[Series<'_>],
    values: &[Vec<f64>],
) -> String {
    let (width, height, left, bottom, top) = (640.0, 260.0, 40.0, 40.0, 28.0);
    let plot_h = height - bottom - top;
    let whole = values.iter().flatten().all(|v| v.fract() == 0.0);
    let (step, steps) = axis(values.iter().flatten().copied().fold(0.0, f64::max), whole);
    let max = step * f64::from(steps);
    let groups = labels.len().max(1) as f64;
    let group_w = (width - left - 8.0) / groups;
    // Bars no wider than 48 units, so that one group does not become one wide block.
    let bar_w = (group_w * 0.8 / series.len().max(1) as f64).clamp(1.0, 48.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title)
    );
    for i in 0..=steps {
        let v = step * f64::from(i);
        let y = top + plot_h - plot_h * f64::from(i) / f64::from(steps);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{left}" y1="{y:.1}" x2="{width}" y2="{y:.1}"/><text class="axis" x="{x:.1}" y="{ty:.1}" text-anchor="end">{v}</text>"#,
            x = left - 4.0,
            ty = y + 4.0,
            v = label_number(v)
        );
    }
    for (g, label) in labels.iter().enumerate() {
        // The group's bars side by side, centred under its label.
        let centre = left + 4.0 + group_w * (g as f64 + 0.5);
        let gx = centre - bar_w * series.len() as f64 / 2.0;
        for (s, ser) in series.iter().enumerate() {
            let v = values
                .get(s)
                .and_then(|row| row.get(g))
                .copied()
                .unwrap_or(0.0);
            let h = plot_h * v / max;
            let _ = write!(
                svg,
                r#"<rect class="{c}" x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}"><title>{l} · {n}: {v}</title></rect>"#,
                c = escape(ser.class),
                x = gx + bar_w * s as f64,
                y = top + plot_h - h,
                l = escape(label),
                n = escape(ser.name),
                v = label_number(v)
            );
        }
        // Label every group when there is room, else every few, so labels never overlap.
        let every = (labels.len() / 10).max(1);
        if g % every == 0 {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{x:.1}" y="{y:.1}" text-anchor="middle">{l}</text>"#,
                x = centre,
                y = height - bottom + 16.0,
                l = escape(label)
            );
        }
    }
    let mut lx = left;
    for ser in series {
        let _ = write!(
            svg,
            r#"<rect class="{c}" x="{lx:.1}" y="6" width="12" height="12"/><text class="legend" x="{tx:.1}" y="16">{n}</text>"#,
            c = escape(ser.class),
            tx = lx + 16.0,
            n = escape(ser.name)
        );
        lx += 24.0 + 14.0 * ser.name.chars().count() as f64;
    }
    svg.push_str("</svg>");
    svg
}

/// One bar split into parts (the layers of a bill), each labelled in the legend; the widths
/// come from the integer amounts.
pub fn split_bar(title: &str, parts: &[(String, i64, &str)]) -> String {
    let (width, left) = (640.0, 8.0);
    let plot_w = width - 2.0 * left;
    let total: i64 = parts.iter().map(|p| p.1.max(0)).sum();
    let rows = parts.len().div_ceil(2);
    let height = 44.0 + 22.0 * rows as f64;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title)
    );
    let mut x = left;
    for (_, amount, class) in parts {
        let w = if total > 0 {
            plot_w * (*amount).max(0) as f64 / total as f64
        } else {
            0.0
        };
        svg.push_str(&format!(
            r#"<rect class="{class}" x="{x:.1}" y="8" width="{w:.1}" height="24"/>"#
        ));
        x += w;
    }
    for (i, (label, _, class)) in parts.iter().enumerate() {
        let (lx, ly) = (
            left + (i % 2) as f64 * plot_w / 2.0,
            50.0 + 22.0 * (i / 2) as f64,
        );
        svg.push_str(&format!(
            r#"<rect class="{class}" x="{lx:.1}" y="{y:.1}" width="12" height="12"/><text class="legend" x="{tx:.1}" y="{ly:.1}">{l}</text>"#,
            y = ly - 10.0,
            tx = lx + 18.0,
            l = escape(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A horizontal bar for a share (0..=1) against a target share, labelled with both.
pub fn share_bar(
    title: &str,
    share: f64,
    target: f64,
    share_label: &str,
    target_label: &str,
) -> String {
    let (width, height, left, right) = (640.0, 70.0, 8.0, 8.0);
    let plot_w = width - left - right;
    let share = share.clamp(0.0, 1.0);
    let target = target.clamp(0.0, 1.0);
    let class = if share >= target { "ok" } else { "below" };
    let tx = left + plot_w * target;
    format!(
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><rect class="track" x="{left}" y="28" width="{plot_w}" height="22" rx="4"/><rect class="{class}" x="{left}" y="28" width="{sw:.1}" height="22" rx="4"/><line class="target" x1="{tx:.1}" y1="20" x2="{tx:.1}" y2="58"/><text class="legend" x="{left}" y="18">{sl}</text><text class="axis" x="{tx:.1}" y="68" text-anchor="middle">{tl}</text></svg>"#,
        t = escape(title),
        sw = plot_w * share,
        sl = escape(share_label),
        tl = escape(target_label),
    )
}

/// The workflow as a graph: stages in layers by their distance from the first stage, the
/// outcomes in a last row, one arrow per action labelled with its title. Arrows that go back
/// (send back, resubmit) bend round the side so they do not cross the boxes.
pub fn workflow_diagram(wf: &Workflow, en: bool) -> String {
    let title_of =
        |t: &crate::domain::workflow::Title| if en { t.en.clone() } else { t.zh.clone() };
    // Layer of every stage: breadth first from the initial stage.
    let mut layer = vec![usize::MAX; wf.stages.len()];
    layer[wf.initial] = 0;
    let mut frontier = vec![wf.initial];
    while let Some(i) = frontier.pop() {
        for a in &wf.stages[i].actions {
            for to in std::iter::once(&a.to).chain(a.routes.iter().map(|r| &r.to)) {
                if let Target::Stage(j) = to {
                    if layer[*j] == usize::MAX || layer[*j] > layer[i] + 1 {
                        layer[*j] = layer[i] + 1;
                        frontier.push(*j);
                    }
                }
            }
        }
    }
    let deepest = layer
        .iter()
        .filter(|l| **l != usize::MAX)
        .max()
        .copied()
        .unwrap_or(0);
    for l in layer.iter_mut().filter(|l| **l == usize::MAX) {
        *l = deepest + 1;
    }
    let rows = layer.iter().max().copied().unwrap_or(0) + 2;
    let (box_w, box_h, gap_x, gap_y, margin) = (170.0, 44.0, 40.0, 70.0, 20.0);
    let mut in_row: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for (i, l) in layer.iter().enumerate() {
        in_row[*l].push(i);
    }
    let widest = in_row
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(1)
        .max(wf.outcomes.len());
    let width =
        margin * 2.0 + widest as f64 * box_w + (widest.saturating_sub(1)) as f64 * gap_x + 80.0;
    let height = margin * 2.0 + rows as f64 * box_h + (rows - 1) as f64 * gap_y;
    let place = |row: usize, k: usize, n: usize| {
        let row_w = n as f64 * box_w + n.saturating_sub(1) as f64 * gap_x;
        let x = (width - 80.0 - row_w) / 2.0 + k as f64 * (box_w + gap_x);
        let y = margin + row as f64 * (box_h + gap_y);
        (x, y)
    };
    let mut stage_pos = vec![(0.0, 0.0); wf.stages.len()];
    for (row, members) in in_row.iter().enumerate().take(rows - 1) {
        for (k, i) in members.iter().enumerate() {
            stage_pos[*i] = place(row, k, members.len());
        }
    }
    let outcome_pos: Vec<(f64, f64)> = (0..wf.outcomes.len())
        .map(|k| place(rows - 1, k, wf.outcomes.len()))
        .collect();
    let mut svg = String::new();
    let name = title_of(&wf.title);
    let _ = write!(
        svg,
        r#"<svg class="diagram" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><defs><marker id="arrow-{id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>"#,
        t = escape(&name),
        id = escape(&wf.name)
    );
    // Edges first, so boxes sit on top of them.
    let mut back_lane = 0.0_f64;
    for (i, stage) in wf.stages.iter().enumerate() {
        let (sx, sy) = stage_pos[i];
        for (n, a) in stage.actions.iter().enumerate() {
            let target = match a.to {
                Target::Stage(j) => Some(stage_pos[j]),
                Target::Outcome(kind) => wf
                    .outcomes
                    .iter()
                    .position(|(k, _)| *k == kind)
                    .map(|k| outcome_pos[k]),
                Target::Returner => None,
            };
            let label = escape(&title_of(&a.title));
            let Some((tx, ty)) = target else {
                // Back to whichever stage asked: a short stub with its label.
                let _ = write!(
                    svg,
                    r#"<text class="edge-label" x="{x:.1}" y="{y:.1}">↩ {label}</text>"#,
                    x = sx + box_w + 6.0,
                    y = sy + 14.0 + 12.0 * n as f64
                );
                continue;
            };
            let from = (sx + box_w / 2.0 + (n as f64 - 1.0) * 12.0, sy + box_h);
            if ty > sy {
                let to = (tx + box_w / 2.0, ty);
                let mid = ((from.0 + to.0) / 2.0, (from.1 + to.1) / 2.0);
                let _ = write!(
                    svg,
                    r#"<path class="edge" d="M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" marker-end="url(#arrow-{id})"/><text class="edge-label" x="{:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
                    from.0,
                    from.1,
                    from.0,
                    from.1 + gap_y / 2.0,
                    to.0,
                    to.1 - gap_y / 2.0,
                    to.0,
                    to.1,
                    mid.0,
                    mid.1,
                    id = escape(&wf.name)
                );
            } else {
                // Backwards or sideways: out of the right side, round, into the target's right side.
                back_lane += 10.0;
                let lane = width - 70.0 + back_lane.min(60.0);
                let (fy, ty2) = (sy + box_h / 2.0, ty + box_h / 2.0);
                let _ = write!(
                    svg,
                    r#"<path class="edge back" d="M{:.1},{fy:.1} L{lane:.1},{fy:.1} L{lane:.1},{ty2:.1} L{:.1},{ty2:.1}" marker-end="url(#arrow-{id})"/><text class="edge-label" x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"#,
                    sx + box_w,
                    tx + box_w,
                    lane - 4.0,
                    (fy + ty2) / 2.0,
                    id = escape(&wf.name)
                );
            }
        }
    }
    for (i, stage) in wf.stages.iter().enumerate() {
        let (x, y) = stage_pos[i];
        let class = if i == wf.initial {
            "node first"
        } else if stage.waiting {
            "node waiting"
        } else {
            "node"
        };
        let sla = stage
            .sla_hours
            .map(|h| format!(" · {h}h"))
            .unwrap_or_default();
        let _ = write!(
            svg,
            r#"<g class="{class}"><rect x="{x:.1}" y="{y:.1}" width="{box_w}" height="{box_h}" rx="6"/><text x="{cx:.1}" y="{ty:.1}" text-anchor="middle">{t}</text><text class="sub" x="{cx:.1}" y="{sy:.1}" text-anchor="middle">{role}{sla}</text></g>"#,
            cx = x + box_w / 2.0,
            ty = y + 19.0,
            sy = y + 36.0,
            t = escape(&title_of(&stage.title)),
            role = escape(stage.role.as_str()),
        );
    }
    for (k, (_, title)) in wf.outcomes.iter().enumerate() {
        let (x, y) = outcome_pos[k];
        let _ = write!(
            svg,
            r#"<g class="node outcome"><rect x="{x:.1}" y="{y:.1}" width="{box_w}" height="{box_h}" rx="22"/><text x="{cx:.1}" y="{ty:.1}" text-anchor="middle">{t}</text></g>"#,
            cx = x + box_w / 2.0,
            ty = y + 27.0,
            t = escape(&title_of(title)),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn axes_end_on_round_numbers() {
        // (step, steps): the axis ends at step × steps, at or just past the largest value.
        assert_eq!(axis(0.0, true), (1.0, 1));
        assert_eq!(axis(2.0, true), (1.0, 2), "counts step by whole numbers");
        assert_eq!(axis(2.0, false), (0.5, 4));
        assert_eq!(axis(7.0, true), (2.0, 4));
        assert_eq!(axis(13.0, true), (5.0, 3));
        assert_eq!(axis(87.5, false), (20.0, 5));
        assert_eq!(axis(480.0, true), (100.0, 5));
    }

    #[test]
    fn a_bar_chart_has_one_bar_per_value_and_its_title() {
        let labels = vec!["11-01".to_string(), "11-02".to_string()];
        let series = [
            Series {
                name: "opened",
                class: "s1",
            },
            Series {
                name: "closed",
                class: "s2",
            },
        ];
        let svg = bar_chart(
            "Cases <per> day",
            &labels,
            &series,
            &[vec![3.0, 5.0], vec![1.0, 0.0]],
        );
        assert_eq!(
            svg.matches("<rect class=\"s1\" x=").count(),
            3,
            "two bars and the legend"
        );
        assert!(svg.contains("aria-label=\"Cases &lt;per&gt; day\""));
        assert!(svg.contains("11-02 · opened: 5"));
    }

    #[test]
    fn a_lone_group_sits_under_its_label_on_a_whole_number_axis() {
        let svg = bar_chart(
            "violations",
            &["2026-12".to_string()],
            &[Series {
                name: "violations",
                class: "s1",
            }],
            &[vec![2.0]],
        );
        // A number attribute of the element whose opening tag ends just before `marker`.
        let attr_before = |marker: &str, name: &str| -> f64 {
            let at = svg.find(marker).unwrap();
            let tag = &svg[svg[..at].rfind('<').unwrap()..at];
            let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            tag[start..start + tag[start..].find('"').unwrap()]
                .parse()
                .unwrap()
        };
        let bar = "><title>2026-12 · violations: 2</title>";
        let bar_centre = attr_before(bar, "x") + attr_before(bar, "width") / 2.0;
        let label_x = attr_before(">2026-12</text>", "x");
        assert!(
            (bar_centre - label_x).abs() < 0.2,
            "{bar_centre} vs {label_x}"
        );
        assert!(!svg.contains(">1.5<") && !svg.contains(">0.5<"), "{svg}");
        assert!(svg.contains(">1</text>") && svg.contains(">2</text>"));
    }

    #[test]
    fn a_share_below_target_is_marked() {
        let svg = share_bar("ratio", 0.62, 0.75, "62%", "75%");
        assert!(svg.contains("class=\"below\"") && svg.contains(">75%<"));
        assert!(share_bar("ratio", 0.8, 0.75, "80%", "75%").contains("class=\"ok\""));
    }

    #[test]
    fn every_stage_outcome_and_action_of_a_shipped_workflow_is_drawn() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/trauma.toml");
        let source = std::fs::read_to_string(&path).unwrap();
        let wf =
            crate::domain::workflow::load_workflow(&path.display().to_string(), &source).unwrap();
        let svg = workflow_diagram(&wf, false);
        for stage in &wf.stages {
            assert!(
                svg.contains(&escape(&stage.title.zh)),
                "{} missing",
                stage.id
            );
        }
        for (_, title) in &wf.outcomes {
            assert!(svg.contains(&escape(&title.zh)));
        }
        let actions: usize = wf.stages.iter().map(|s| s.actions.len()).sum();
        let drawn = svg.matches("class=\"edge-label\"").count();
        assert_eq!(drawn, actions, "one label per action");
        assert!(workflow_diagram(&wf, true).contains("Second review"));
    }
}
