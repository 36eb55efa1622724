//! Bytecode for the client: instruction addresses (a frame's `instructionPointerReference`) and
//! `disassemble`, in the running Python version's own instructions, as `dis` shows them.
//!
//! An address is a number an editor can order and parse (VS Code reads it with `BigInt`): the
//! code object's number in the session (`Handles::code_number`) in the high 32 bits, the
//! instruction's byte offset in the low 32. Inline caches are part of the instruction before them.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use super::{source_for, Context};
use crate::embedded_python::embedded_function;
use crate::protocol::types::{DisassembleArguments, DisassembleBody, DisassembledInstruction};

/// The most instructions one disassemble answers; editors ask for a screenful at a time.
const MOST_INSTRUCTIONS: i64 = 10_000;

/// VS Code skips entries at this address: the padding past either end of a code object.
const INVALID_ADDRESS: &str = "-1";

const LISTING: &str = r#"
import dis

JUMPS = set(getattr(dis, "hasjrel", ())) | set(getattr(dis, "hasjabs", ())) | set(getattr(dis, "hasjump", ()))


def listing(code):
    try:
        specialised = {i.offset: i.opname for i in dis.get_instructions(code, adaptive=True)}
    except Exception:
        specialised = {}
    raw = code.co_code
    instructions = list(dis.get_instructions(code))
    rows = []
    for n, i in enumerate(instructions):
        end = instructions[n + 1].offset if n + 1 < len(instructions) else len(raw)
        text = i.opname
        if i.arg is not None:
            text += f" {i.arg}"
            argument = f"to {i.argval}" if i.opcode in JUMPS else i.argrepr
            if argument:
                text += f" ({argument})"
        adaptive = specialised.get(i.offset)
        # INSTRUMENTED_* is pydbg's own monitoring, not the program's.
        if adaptive and adaptive != i.opname and not adaptive.startswith("INSTRUMENTED_"):
            text += f"  [specialised: {adaptive}]"
        p = i.positions
        rows.append((i.offset, text, raw[i.offset:end].hex(" "), p.lineno, p.col_offset, p.end_lineno, p.end_col_offset))
    return rows
"#;

static LISTING_FUNCTION: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// One instruction: offset, text, bytes, and its source positions (0-based columns).
type Row = (i64, String, String, Option<i64>, Option<i64>, Option<i64>, Option<i64>);

pub fn address(code_number: u32, offset: i64) -> String {
    format!("{:#x}", (u64::from(code_number) << 32) | (offset as u64 & 0xffff_ffff))
}

/// The code number and byte offset an address names.
fn parse_address(text: &str) -> Option<(u32, i64)> {
    let text = text.trim();
    let value = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => text.parse().ok()?,
    };
    Some(((value >> 32) as u32, (value & 0xffff_ffff) as i64))
}

fn listing(py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<Vec<Row>> {
    embedded_function(py, &LISTING_FUNCTION, LISTING, c"pydbg_bytecode", "listing")?.call1((code,))?.extract()
}

/// An instruction a client named by address: its code object, its offset, and its address.
pub struct Instruction {
    pub code: Py<PyAny>,
    pub offset: i64,
    pub address: String,
}

/// The instruction at `reference` moved by `offset` bytes; it must be where an instruction starts.
pub fn instruction_at(py: Python<'_>, cx: &Context, reference: &str, offset: i64) -> Result<Instruction, String> {
    let not_ours = || format!("{reference:?} is not an instruction address pydbg gave");
    let (number, base) = parse_address(reference).ok_or_else(not_ours)?;
    let code = cx.handles.code(py, number).ok_or_else(not_ours)?;
    let target = base.saturating_add(offset);
    let rows = listing(py, code.bind(py)).map_err(|e| crate::python_errors::describe_error(py, &e))?;
    if !rows.iter().any(|row| row.0 == target) {
        let name: String = code.bind(py).getattr("co_qualname").and_then(|n| n.extract()).unwrap_or_default();
        return Err(format!("no instruction of {name} starts at byte offset {target}"));
    }
    Ok(Instruction { code, offset: target, address: address(number, target) })
}

pub fn disassemble(py: Python<'_>, cx: &Context, args: &DisassembleArguments) -> Result<DisassembleBody, String> {
    let count = args.instruction_count;
    if !(0..=MOST_INSTRUCTIONS).contains(&count) {
        return Err(format!("instructionCount must be from 0 to {MOST_INSTRUCTIONS}, not {count}"));
    }
    let not_ours = || format!("{:?} is not an instruction address pydbg gave", args.memory_reference);
    let (number, offset) = parse_address(&args.memory_reference).ok_or_else(not_ours)?;
    let code = cx.handles.code(py, number).ok_or_else(not_ours)?;
    let code = code.bind(py);
    let rows = listing(py, code).map_err(|e| crate::python_errors::describe_error(py, &e))?;
    let base = offset.saturating_add(args.offset.unwrap_or(0));
    // The instruction that holds `base`, or where it would be past either end (two bytes each).
    let holder = match rows.iter().rposition(|row| row.0 <= base) {
        Some(index) if index + 1 < rows.len() || base < end_of(&rows) => index as i64,
        _ if base < 0 => base.div_euclid(2),
        _ => rows.len() as i64 + (base - end_of(&rows)).div_euclid(2),
    };
    let first = holder.saturating_add(args.instruction_offset.unwrap_or(0));
    let symbol: Option<String> = if args.resolve_symbols == Some(true) {
        code.getattr("co_qualname").and_then(|n| n.extract()).ok()
    } else {
        None
    };
    let filename: String = code.getattr("co_filename").and_then(|f| f.extract()).unwrap_or_default();
    let mut location = Some(source_for(cx, code, &filename));
    let instructions = (0..count)
        .map(|k| {
            let index = first.saturating_add(k);
            let Some(row) = usize::try_from(index).ok().and_then(|i| rows.get(i)) else {
                return DisassembledInstruction {
                    address: INVALID_ADDRESS.into(),
                    instruction: "(no instruction)".into(),
                    presentation_hint: Some("invalid"),
                    ..Default::default()
                };
            };
            let (offset, text, bytes, line, column, end_line, end_column) = row.clone();
            DisassembledInstruction {
                address: address(number, offset),
                instruction_bytes: Some(bytes),
                instruction: text,
                symbol: symbol.clone(),
                location: location.take(),
                line,
                column: column.map(|c| c + 1),
                end_line,
                end_column: end_column.map(|c| c + 1),
                presentation_hint: None,
            }
        })
        .collect();
    Ok(DisassembleBody { instructions })
}

/// The byte offset just past the last instruction.
fn end_of(rows: &[Row]) -> i64 {
    rows.last().map_or(0, |row| row.0 + (row.2.len() as i64 + 1) / 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_and_order_by_code_then_offset() {
        assert_eq!(address(1, 0), "0x100000000");
        assert_eq!(parse_address(&address(7, 42)), Some((7, 42)));
        assert_eq!(parse_address("4294967338"), Some((1, 42)));
        assert!(parse_address("frame 3").is_none());
        let order = |a: &str| u64::from_str_radix(&a[2..], 16).unwrap();
        assert!(order(&address(1, 500)) < order(&address(2, 0)));
    }
}
