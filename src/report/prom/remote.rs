//! Prometheus remote write 1.0: the families as a `WriteRequest`
//! (protobuf, the messages of Prometheus' `prompb/remote.proto` and
//! `types.proto` written out by hand, since four small messages do not
//! earn a build script), compressed with snappy's block format. One sample
//! per series, stamped with the time given.

use super::Family;
use prost::Message;

pub const CONTENT_TYPE: &str = "application/x-protobuf";
pub const CONTENT_ENCODING: &str = "snappy";
pub const VERSION_HEADER: (&str, &str) = ("X-Prometheus-Remote-Write-Version", "0.1.0");

#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// The families as one write request, each series' labels sorted by name
/// (`__name__` first) as the protocol asks.
pub fn write_request(fams: &[Family], timestamp_ms: i64) -> WriteRequest {
    let mut timeseries = Vec::new();
    for f in fams {
        for s in &f.samples {
            let mut labels = vec![Label {
                name: "__name__".into(),
                value: format!("{}{}", f.name, s.suffix),
            }];
            labels.extend(s.labels.iter().map(|(k, v)| Label {
                name: k.to_string(),
                value: v.clone(),
            }));
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            timeseries.push(TimeSeries {
                labels,
                samples: vec![Sample {
                    value: s.value,
                    timestamp: timestamp_ms,
                }],
            });
        }
    }
    WriteRequest { timeseries }
}

/// The request's body: protobuf, then snappy (block format).
pub fn encode(req: &WriteRequest) -> Vec<u8> {
    let raw = req.encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

/// Read a body back (tests, and anyone checking what was pushed).
pub fn decode(body: &[u8]) -> Option<WriteRequest> {
    let raw = snap::raw::Decoder::new().decompress_vec(body).ok()?;
    WriteRequest::decode(raw.as_slice()).ok()
}
