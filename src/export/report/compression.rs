//! The compression part of a framed run's report: each codec's rows, frames, rows a frame, ratio
//! and coding times over the run, and the ratio and rows a frame at each interval.

use std::fmt::Write;

use super::charts::time_chart;
use crate::export::compare::Recorded;
use crate::export::svg::{Chart, Scale, Series, escape};
use crate::metrics::snapshot::{CodecPart, LinkRole};

/// One codec's frames over the run: the summary's, or, for a run that did not finish, its
/// intervals' added up (coding times weighted by their rows).
#[derive(Debug, Default)]
struct Coded {
    rows: u64,
    frames: u64,
    raw_bytes: u64,
    encoded_bytes: u64,
    encode_ns: Option<f64>,
    decode_ns: Option<f64>,
}

impl Coded {
    fn add(&mut self, part: &CodecPart) {
        let rows = part.rows as f64;
        self.rows += part.rows;
        self.frames += part.frames;
        self.raw_bytes += part.raw_bytes;
        self.encoded_bytes += part.encoded_bytes;
        if let Some(ns) = part.encode_ns_per_row {
            *self.encode_ns.get_or_insert(0.0) += ns * rows;
        }
        if let Some(ns) = part.decode_ns_per_row {
            *self.decode_ns.get_or_insert(0.0) += ns * rows;
        }
    }

    /// The time a row of `total_ns`; `far_end`: this side of the codec runs at the link's other
    /// end, which is why it has no time here.
    fn per_row(&self, total_ns: Option<f64>, far_end: bool) -> String {
        match total_ns {
            Some(ns) if self.rows > 0 => format!("{:.1}", ns / self.rows as f64),
            None if far_end => "n/a (far end)".to_owned(),
            _ => "n/a".to_owned(),
        }
    }
}

/// The section, or `None` for a run whose rows travelled unframed.
pub(super) fn compression_section(run: &Recorded) -> Option<String> {
    let mut codecs: Vec<(String, Coded)> = Vec::new();
    let mut tally = |part: &CodecPart| {
        let at = match codecs.iter().position(|(name, _)| *name == part.name) {
            Some(at) => at,
            None => {
                codecs.push((part.name.clone(), Coded::default()));
                codecs.len() - 1
            }
        };
        codecs[at].1.add(part);
    };
    let finished = run.summary.is_some();
    match &run.summary {
        Some(summary) => summary
            .codec
            .iter()
            .flat_map(|c| &c.by_codec)
            .for_each(&mut tally),
        None => run
            .snapshots
            .iter()
            .filter_map(|s| s.codec.as_ref())
            .flat_map(|c| &c.by_codec)
            .for_each(&mut tally),
    }
    if codecs.is_empty() {
        return None;
    }
    let mut html = String::from("<h2>Compression</h2>");
    html.push_str(
        "<table><tr><th>codec</th><th>rows</th><th>frames</th><th>rows a frame</th>\
         <th>ratio</th><th>encode ns/row</th><th>decode ns/row</th></tr>",
    );
    // A link's ends each run one side of the codec.
    let role = run.link_role();
    for (name, coded) in &codecs {
        let rows_a_frame = if coded.frames > 0 {
            format!("{:.1}", coded.rows as f64 / coded.frames as f64)
        } else {
            "n/a".to_owned()
        };
        let ratio = if coded.encoded_bytes > 0 {
            format!(
                "{:.2}×",
                coded.raw_bytes as f64 / coded.encoded_bytes as f64
            )
        } else {
            "n/a".to_owned()
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{rows_a_frame}</td><td>{ratio}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(name),
            coded.rows,
            coded.frames,
            coded.per_row(coded.encode_ns, role == Some(LinkRole::Receiver)),
            coded.per_row(coded.decode_ns, role == Some(LinkRole::Sender)),
        );
    }
    html.push_str("</table>");
    html.push_str(&over_time(run, "Codec ratio per interval", "×", |c| c.ratio).svg());
    html.push_str(
        &over_time(run, "Rows a frame per interval", "rows", |c| {
            c.rows_per_frame
        })
        .svg(),
    );
    let _ = write!(
        html,
        "<p>{} The ratio is the 64-byte rows over the frame bytes, each frame's header included; \
         the coding times are the encoder's and the decoder's alone. A paced producer sends a \
         frame when its rows are due, so at a slow rate a frame holds a row or two and its header \
         keeps the ratio near 1.</p>",
        if finished {
            "Over the whole run, by codec."
        } else {
            "Up to the last interval, by codec (the run did not finish)."
        }
    );
    Some(html)
}

/// One figure of the run's codec at each interval: one line.
fn over_time(
    run: &Recorded,
    title: &str,
    unit: &str,
    pick: fn(&crate::metrics::snapshot::CodecSnapshot) -> Option<f64>,
) -> Chart {
    let figure = Series {
        name: "all codecs".to_owned(),
        points: run
            .snapshots
            .iter()
            .filter_map(|s| Some((s.elapsed_s, pick(s.codec.as_ref()?)?)))
            .collect(),
    };
    time_chart(title, unit.to_owned(), Scale::Linear, vec![figure])
}
