//! Kafka framing, shared by the load tools and the benchmarks: requests with their header,
//! size-prefixed; responses read whole (bounded); record batches as a producer builds them.
use anyhow::{Context, bail};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::{Encodable, StrBytes};
use sluice_storage::NewRecord;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest response frame read: a fetch answers at most `FETCH_BYTES_MAX` (the consumer's
/// own bound) plus headers, far under this.
pub const FRAME_BYTES_MAX: usize = 64 * 1024 * 1024;
/// The client id every request carries.
pub const CLIENT_ID: &str = "sluice-loadgen";
/// Where the correlation id sits in an encoded request: after the size, api key and version,
/// so a pre-encoded request can be sent again with a new one.
pub const CORRELATION_ID_AT: std::ops::Range<usize> = 8..12;

/// `request` with its header (api, version, correlation id, [`CLIENT_ID`]), size-prefixed.
pub fn encode_request<R: Encodable>(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    request: &R,
) -> anyhow::Result<Vec<u8>> {
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
    let mut body = BytesMut::new();
    header.encode(&mut body, api.request_header_version(version))?;
    request.encode(&mut body, version)?;
    let size = u32::try_from(body.len()).context("a request over 4 GiB")?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&size.to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// One whole response frame, without its size; at most [`FRAME_BYTES_MAX`].
pub async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> anyhow::Result<Bytes> {
    let size = stream
        .read_u32()
        .await
        .context("the broker closed the connection")? as usize;
    if size > FRAME_BYTES_MAX {
        bail!("a response of {size} bytes, over {FRAME_BYTES_MAX}");
    }
    let mut body = vec![0; size];
    stream.read_exact(&mut body).await?;
    Ok(body.into())
}

/// A v2 batch of `count` uncompressed records with `value` and the key `key(i)`, as a
/// producer builds it (base offset 0, no producer id): storage rewrites only the base offset,
/// outside the CRC, so the same bytes can be appended again and again.
pub fn record_batch(
    count: usize,
    key: impl Fn(usize) -> Option<Bytes>,
    value: &Bytes,
) -> anyhow::Result<Bytes> {
    let keys: Vec<Option<Bytes>> = (0..count).map(key).collect();
    let records: Vec<NewRecord<'_>> = keys
        .iter()
        .map(|key| NewRecord {
            key: key.as_deref(),
            value: Some(value),
            headers: Vec::new(),
            timestamp_ms: 1_700_000_000_000,
        })
        .collect();
    Ok(sluice_storage::encode_batch(&records)?.into())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{MetadataRequest, RequestHeader};
    use kafka_protocol::protocol::Decodable;

    use super::*;

    #[test]
    fn a_request_reads_back_with_its_header() {
        let frame = encode_request(ApiKey::Metadata, 12, 77, &MetadataRequest::default()).unwrap();
        let size = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(size, frame.len() - 4);
        assert_eq!(&frame[CORRELATION_ID_AT], &77i32.to_be_bytes());
        let mut body = Bytes::copy_from_slice(&frame[4..]);
        let header =
            RequestHeader::decode(&mut body, ApiKey::Metadata.request_header_version(12)).unwrap();
        assert_eq!(header.client_id.as_deref(), Some(CLIENT_ID));
        MetadataRequest::decode(&mut body, 12).unwrap();
    }

    #[tokio::test]
    async fn an_oversized_frame_is_refused_before_it_is_read() {
        let mut input: &[u8] = &(FRAME_BYTES_MAX as u32 + 1).to_be_bytes();
        assert!(read_frame(&mut input).await.is_err());
        let mut ok: &[u8] = &[0, 0, 0, 2, 9, 9];
        assert_eq!(
            read_frame(&mut ok).await.unwrap(),
            Bytes::from_static(&[9, 9])
        );
    }

    #[test]
    fn a_record_batch_decodes_to_its_records() {
        let value = Bytes::from_static(b"v");
        let batch = record_batch(3, |i| Some(Bytes::from(format!("k{i}"))), &value).unwrap();
        let decoded = sluice_storage::decode_batches(&batch);
        assert_eq!(decoded.len(), 1);
        let records = decoded[0].records.as_ref().unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[2].key.as_deref(), Some(&b"k2"[..]));
        assert_eq!(records[0].value.as_deref(), Some(&b"v"[..]));
    }
}
