//! Canonical JSON written straight from a `Serialize` type, without a [`serde_json::Value`] in
//! between: each open object's entries are written into a buffer of their own, then sorted by
//! key and copied out when the object closes. Building the value tree, walking it and dropping
//! it cost about 4 % of the forward path's CPU (two hashes per record, issue 19).
//!
//! The text is byte for byte what `write_canonical(&serde_json::to_value(record))` writes (the
//! text every stored hash was made of); anything that would make the two differ (a key written
//! with escapes, which sorts by its characters rather than its text, a raw JSON fragment, an
//! integer wider than 64 bits) is refused with [`Unsupported`], and the caller goes the value's
//! way instead.

use std::io;
use std::ops::Range;

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, Serializer};

/// Why a record could not be written directly: something the value's way treats differently.
#[derive(Debug)]
pub(super) struct Unsupported;

/// `record`'s canonical JSON, or [`Unsupported`] (also for a record whose serialization
/// fails: the value's way reports that error).
pub(super) fn canonical_bytes<T: Serialize + ?Sized>(record: &T) -> Result<Vec<u8>, Unsupported> {
    let mut state = State::default();
    let mut serializer = Serializer::with_formatter(io::sink(), Canonical(&mut state));
    record.serialize(&mut serializer).map_err(|_| Unsupported)?;
    if !state.frames.is_empty() {
        return Err(Unsupported);
    }
    Ok(state.out)
}

#[derive(Default)]
struct State {
    /// The finished text outside any object.
    out: Vec<u8>,
    /// The objects being written, innermost last.
    frames: Vec<Frame>,
    /// Frames closed earlier, kept for their buffers.
    spare: Vec<Frame>,
}

/// An object being written: its entries' keys and values as JSON text, in the order
/// serialized.
#[derive(Default)]
struct Frame {
    text: Vec<u8>,
    entries: Vec<Entry>,
}

struct Entry {
    /// The key's text, quotes included; between the quotes it is the key itself (a key with
    /// escapes is refused), so keys sort by it as a map sorts its keys.
    key: Range<usize>,
    value: Range<usize>,
}

impl Entry {
    fn key<'t>(&self, text: &'t [u8]) -> &'t [u8] {
        text.get(self.key.start + 1..self.key.end - 1)
            .unwrap_or_default()
    }
}

impl State {
    /// Where text goes now: the innermost open object, else the finished text.
    fn target(&mut self) -> &mut Vec<u8> {
        match self.frames.last_mut() {
            Some(frame) => &mut frame.text,
            None => &mut self.out,
        }
    }

    fn open_object(&mut self) {
        let mut frame = self.spare.pop().unwrap_or_default();
        frame.text.clear();
        frame.entries.clear();
        self.frames.push(frame);
    }

    /// Writes the innermost object, its entries sorted by key (the last of equal keys kept, as
    /// a map keeps the last value inserted), into what encloses it.
    fn close_object(&mut self) -> io::Result<()> {
        let Some(mut frame) = self.frames.pop() else {
            return Err(io::Error::other("an object closed that was not open"));
        };
        let Frame { text, entries } = &mut frame;
        entries.sort_by(|a, b| a.key(text).cmp(b.key(text)));
        let target = self.target();
        target.push(b'{');
        let mut first = true;
        for (i, entry) in entries.iter().enumerate() {
            let shadowed = entries
                .get(i + 1)
                .is_some_and(|next| next.key(text) == entry.key(text));
            if shadowed {
                continue;
            }
            if !first {
                target.push(b',');
            }
            first = false;
            target.extend_from_slice(&text[entry.key.clone()]);
            target.push(b':');
            target.extend_from_slice(&text[entry.value.clone()]);
        }
        target.push(b'}');
        self.spare.push(frame);
        Ok(())
    }
}

/// The formatter: writes through [`CompactFormatter`] into [`State::target`], ignoring the
/// serializer's own writer.
struct Canonical<'a>(&'a mut State);

macro_rules! compact {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + io::Write>(&mut self, _w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            CompactFormatter.$name(self.0.target() $(, $arg)*)
        }
    )*};
}

impl Formatter for Canonical<'_> {
    compact! {
        write_null();
        write_bool(v: bool);
        write_i8(v: i8);
        write_i16(v: i16);
        write_i32(v: i32);
        write_i64(v: i64);
        write_u8(v: u8);
        write_u16(v: u16);
        write_u32(v: u32);
        write_u64(v: u64);
        write_f64(v: f64);
        write_byte_array(v: &[u8]);
        begin_string();
        end_string();
        write_string_fragment(v: &str);
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
    }

    /// `to_value` keeps an `f32` as the `f64` it widens to, and writes that.
    fn write_f32<W: ?Sized + io::Write>(&mut self, _w: &mut W, v: f32) -> io::Result<()> {
        CompactFormatter.write_f64(self.0.target(), f64::from(v))
    }

    fn write_i128<W: ?Sized + io::Write>(&mut self, _w: &mut W, v: i128) -> io::Result<()> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(v), _) => CompactFormatter.write_i64(self.0.target(), v),
            (_, Ok(v)) => CompactFormatter.write_u64(self.0.target(), v),
            _ => Err(unsupported()),
        }
    }

    fn write_u128<W: ?Sized + io::Write>(&mut self, _w: &mut W, v: u128) -> io::Result<()> {
        match u64::try_from(v) {
            Ok(v) => CompactFormatter.write_u64(self.0.target(), v),
            Err(_) => Err(unsupported()),
        }
    }

    fn write_number_str<W: ?Sized + io::Write>(&mut self, _w: &mut W, _v: &str) -> io::Result<()> {
        Err(unsupported())
    }

    fn write_raw_fragment<W: ?Sized + io::Write>(
        &mut self,
        _w: &mut W,
        _v: &str,
    ) -> io::Result<()> {
        Err(unsupported())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        _w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        if self.0.frames.last().is_some_and(|f| f.in_key()) {
            return Err(unsupported());
        }
        CompactFormatter.write_char_escape(self.0.target(), escape)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.0.open_object();
        Ok(())
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.0.close_object()
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        _w: &mut W,
        _first: bool,
    ) -> io::Result<()> {
        let Some(frame) = self.0.frames.last_mut() else {
            return Err(io::Error::other("a key outside an object"));
        };
        let start = frame.text.len();
        frame.entries.push(Entry {
            key: start..usize::MAX,
            value: start..start,
        });
        Ok(())
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        let Some(frame) = self.0.frames.last_mut() else {
            return Err(io::Error::other("a key outside an object"));
        };
        let end = frame.text.len();
        let Some(entry) = frame.entries.last_mut() else {
            return Err(io::Error::other("a key outside an object"));
        };
        entry.key.end = end;
        let key = &frame.text[entry.key.clone()];
        if key.len() < 2 || key.first() != Some(&b'"') || key.last() != Some(&b'"') {
            return Err(unsupported());
        }
        Ok(())
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        let Some(frame) = self.0.frames.last_mut() else {
            return Err(io::Error::other("a value outside an object"));
        };
        let end = frame.text.len();
        if let Some(entry) = frame.entries.last_mut() {
            entry.value = entry.key.end..end;
        }
        Ok(())
    }
}

impl Frame {
    /// Whether a key is being written (its end not yet known).
    fn in_key(&self) -> bool {
        self.entries.last().is_some_and(|e| e.key.end == usize::MAX)
    }
}

/// The error that stops the direct writing; the record then goes the value's way.
fn unsupported() -> io::Error {
    io::Error::other("left to the value's way")
}
