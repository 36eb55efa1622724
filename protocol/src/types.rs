//! Typed request arguments and response/event bodies, mirroring the official
//! `debugAdapterProtocol.json`. The end-to-end tests check every message pydbg sends them against
//! that schema (`tests/conftest.py`).
//!
//! Input structs take `#[serde(default)]` and ignore unknown fields; output structs leave absent
//! optional fields out instead of writing `null`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------- arguments

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InitializeArguments {
    #[serde(rename = "clientID")]
    pub client_id: Option<String>,
    #[serde(rename = "adapterID")]
    pub adapter_id: Option<String>,
    pub lines_start_at1: Option<bool>,
    pub columns_start_at1: Option<bool>,
}

/// The attach arguments [`AttachArguments`] reads. adapter/attributes.json, the list editors see,
/// is checked against it.
pub const ATTACH_ARGUMENT_NAMES: &[&str] = &[
    "justMyCode",
    "rules",
    "variablePresentation",
    "reprTimeout",
    "showReturnValue",
    "redirectOutput",
    "stopOnEntry",
    "pathMappings",
    "record",
    "recordLimit",
];

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AttachArguments {
    pub just_my_code: Option<bool>,
    pub rules: Vec<CodeRuleArgument>,
    pub variable_presentation: Option<VariablePresentation>,
    /// Seconds one `repr` or attribute read may run before it is interrupted.
    pub repr_timeout: Option<f64>,
    pub show_return_value: Option<bool>,
    /// Send the program's stdout/stderr as output events (default true). The launch adapter
    /// turns it off when it shows the program's output itself.
    pub redirect_output: Option<bool>,
    /// Stop at the program's first line (only before the program has started).
    pub stop_on_entry: Option<bool>,
    pub path_mappings: Vec<PathMappingArgument>,
    /// Run without debugging (VS Code's Ctrl+F5): nothing stops the program.
    pub no_debug: Option<bool>,
    /// What to record for step back: true for the user's code, or a list of files, folders,
    /// globs and modules. Off when absent or false.
    pub record: Option<RecordArgument>,
    /// The most events recorded per thread; older ones are dropped.
    pub record_limit: Option<u64>,
}

/// `record`: true for the user's code, false for nothing, or a list of what to record.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, expecting = "true, false, or a list of files, folders, globs and modules to record")]
pub enum RecordArgument {
    All(bool),
    Only(Vec<String>),
}

/// pydbg's `record` request: start (`on`, with an optional scope and limit) or stop recording.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RecordArguments {
    pub on: Option<bool>,
    pub include: Option<Vec<String>>,
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathMappingArgument {
    pub local_root: String,
    pub remote_root: String,
}

/// debugpy's `variablePresentation`: each of "group", "inline" or "hide".
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VariablePresentation {
    pub all: Option<String>,
    pub special: Option<String>,
    pub function: Option<String>,
    pub class: Option<String>,
    pub protected: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ValueFormat {
    pub hex: Option<bool>,
}

/// A justMyCode rule, as debugpy takes it: `{"path": ..., "include": bool}` or `{"module": ...}`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CodeRuleArgument {
    pub path: Option<String>,
    pub module: Option<String>,
    pub include: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CancelArguments {
    pub request_id: Option<i64>,
    pub progress_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DisconnectArguments {
    pub terminate_debuggee: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Source {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_reference: Option<i64>,
    /// "deemphasize" for code that is not the user's: VS Code folds runs of such frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presentation_hint: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SourceBreakpoint {
    pub line: i64,
    pub column: Option<i64>,
    pub condition: Option<String>,
    pub hit_condition: Option<String>,
    pub log_message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GotoTargetsArguments {
    pub source: Source,
    pub line: i64,
}

#[derive(Debug, Serialize)]
pub struct GotoTargetsBody {
    pub targets: Vec<GotoTarget>,
}

#[derive(Debug, Serialize)]
pub struct GotoTarget {
    pub id: i64,
    pub label: String,
    pub line: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GotoArguments {
    pub thread_id: i64,
    pub target_id: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SetBreakpointsArguments {
    pub source: Source,
    pub breakpoints: Option<Vec<SourceBreakpoint>>,
    /// Deprecated form: bare line numbers.
    pub lines: Option<Vec<i64>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FunctionBreakpoint {
    pub name: String,
    pub condition: Option<String>,
    pub hit_condition: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InstructionBreakpoint {
    pub instruction_reference: String,
    /// In bytes, from `instruction_reference`.
    pub offset: Option<i64>,
    pub condition: Option<String>,
    pub hit_condition: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SetInstructionBreakpointsArguments {
    pub breakpoints: Vec<InstructionBreakpoint>,
}

/// dataBreakpointInfo: a variable (`variablesReference` + `name`), or an expression (`name`)
/// in a frame.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DataBreakpointInfoArguments {
    pub variables_reference: Option<i64>,
    pub name: String,
    pub frame_id: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataBreakpointInfoBody {
    /// Null when the value cannot be watched; `description` says why.
    pub data_id: Option<String>,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_types: Option<Vec<&'static str>>,
    pub can_persist: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SetDataBreakpointsArguments {
    pub breakpoints: Vec<DataBreakpoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DataBreakpoint {
    pub data_id: String,
    pub access_type: Option<String>,
    pub condition: Option<String>,
    pub hit_condition: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SetFunctionBreakpointsArguments {
    pub breakpoints: Vec<FunctionBreakpoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ThreadArguments {
    pub thread_id: i64,
    pub single_thread: Option<bool>,
    /// stepIn: a target from stepInTargets.
    pub target_id: Option<i64>,
    /// next, stepIn, stepOut: "statement", "line" (both by line) or "instruction".
    pub granularity: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ModulesArguments {
    pub start_module: Option<i64>,
    pub module_count: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModulesBody {
    pub modules: Vec<Module>,
    pub total_modules: i64,
}

#[derive(Debug, Serialize)]
pub struct Module {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepInTargetsArguments {
    pub frame_id: i64,
}

#[derive(Debug, Serialize)]
pub struct StepInTargetsBody {
    pub targets: Vec<StepInTarget>,
}

#[derive(Debug, Serialize)]
pub struct StepInTarget {
    pub id: i64,
    pub label: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BreakpointLocationsArguments {
    pub source: Source,
    pub line: i64,
    pub end_line: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct BreakpointLocationsBody {
    pub breakpoints: Vec<BreakpointLocation>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakpointLocation {
    pub line: i64,
    pub column: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SourceArguments {
    pub source: Option<Source>,
    pub source_reference: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceBody {
    pub content: String,
    pub mime_type: &'static str,
}

#[derive(Debug, Serialize)]
pub struct LoadedSourcesBody {
    pub sources: Vec<Source>,
}

#[derive(Debug, Serialize)]
pub struct LoadedSourceEventBody {
    pub reason: &'static str,
    pub source: Source,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RestartFrameArguments {
    pub frame_id: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DisassembleArguments {
    pub memory_reference: String,
    /// In bytes, applied before `instruction_offset`.
    pub offset: Option<i64>,
    pub instruction_offset: Option<i64>,
    pub instruction_count: i64,
    pub resolve_symbols: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StackTraceArguments {
    pub thread_id: i64,
    pub start_frame: Option<i64>,
    pub levels: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ScopesArguments {
    pub frame_id: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct VariablesArguments {
    pub variables_reference: i64,
    pub filter: Option<String>,
    pub start: Option<i64>,
    pub count: Option<i64>,
    pub format: Option<ValueFormat>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EvaluateArguments {
    pub expression: String,
    pub frame_id: Option<i64>,
    pub context: Option<String>,
    pub format: Option<ValueFormat>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExceptionFilterOptions {
    pub filter_id: String,
    pub condition: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExceptionPathSegment {
    pub negate: Option<bool>,
    pub names: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExceptionOptions {
    pub path: Option<Vec<ExceptionPathSegment>>,
    pub break_mode: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SetExceptionBreakpointsArguments {
    pub filters: Vec<String>,
    pub filter_options: Option<Vec<ExceptionFilterOptions>>,
    pub exception_options: Option<Vec<ExceptionOptions>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SetVariableArguments {
    pub variables_reference: i64,
    pub name: String,
    pub value: String,
    pub format: Option<ValueFormat>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SetExpressionArguments {
    pub expression: String,
    pub value: String,
    pub frame_id: Option<i64>,
    pub format: Option<ValueFormat>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CompletionsArguments {
    pub frame_id: Option<i64>,
    pub text: String,
    pub column: i64,
}

// ---------------------------------------------------------------- bodies

/// The body of setVariable and setExpression responses.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetValueBody {
    pub value: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub variables_reference: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexed_variables: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionItem {
    pub label: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct CompletionsBody {
    pub targets: Vec<CompletionItem>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionBreakpointsFilter {
    pub filter: &'static str,
    pub label: &'static str,
    pub description: &'static str,
    pub default: bool,
    pub supports_condition: bool,
    pub condition_description: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionDetails {
    pub message: String,
    pub type_name: String,
    pub full_type_name: String,
    pub stack_trace: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inner_exception: Vec<ExceptionDetails>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionInfoBody {
    pub exception_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub break_mode: &'static str,
    pub details: ExceptionDetails,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    pub supports_configuration_done_request: bool,
    pub supports_function_breakpoints: bool,
    pub supports_conditional_breakpoints: bool,
    pub supports_hit_conditional_breakpoints: bool,
    pub supports_log_points: bool,
    pub supports_evaluate_for_hovers: bool,
    pub supports_terminate_request: bool,
    pub support_terminate_debuggee: bool,
    pub supports_delayed_stack_trace_loading: bool,
    pub supports_single_thread_execution_requests: bool,
    pub supports_exception_info_request: bool,
    pub supports_exception_filter_options: bool,
    pub supports_exception_options: bool,
    pub supports_set_variable: bool,
    pub supports_set_expression: bool,
    pub supports_completions_request: bool,
    pub supports_goto_targets_request: bool,
    pub supports_step_in_targets_request: bool,
    pub supports_modules_request: bool,
    /// evaluate's `clipboard` context: the whole value, for Copy Value.
    pub supports_clipboard_context: bool,
    /// `format: {hex}` on variables and evaluate.
    pub supports_value_formatting_options: bool,
    pub supports_cancel_request: bool,
    /// `granularity: "instruction"` on next, stepIn and stepOut.
    pub supports_stepping_granularity: bool,
    pub supports_disassemble_request: bool,
    pub supports_instruction_breakpoints: bool,
    pub supports_data_breakpoints: bool,
    pub supports_restart_frame: bool,
    pub supports_breakpoint_locations_request: bool,
    pub supports_loaded_sources_request: bool,
    pub supports_step_back: bool,
    pub completion_trigger_characters: Vec<&'static str>,
    pub exception_breakpoint_filters: Vec<ExceptionBreakpointsFilter>,
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Breakpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction_reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct BreakpointsBody {
    pub breakpoints: Vec<Breakpoint>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct ThreadsBody {
    pub threads: Vec<Thread>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackFrame {
    pub id: i64,
    /// Shared: a deep stack repeats its functions, and each is named once a request.
    pub name: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Arc<Source>>,
    pub line: i64,
    pub column: i64,
    /// The code object and the offset of the instruction about to run (see disassemble).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction_pointer_reference: Option<String>,
    /// Whether restartFrame can restart this frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_restart: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presentation_hint: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct DisassembleBody {
    pub instructions: Vec<DisassembledInstruction>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisassembledInstruction {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction_bytes: Option<String>,
    pub instruction: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<i64>,
    /// "invalid" for the padding past either end of the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presentation_hint: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackTraceBody {
    pub stack_frames: Vec<StackFrame>,
    pub total_frames: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    pub name: String,
    pub presentation_hint: &'static str,
    pub variables_reference: i64,
    pub expensive: bool,
}

#[derive(Debug, Serialize)]
pub struct ScopesBody {
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    pub name: String,
    pub value: String,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_name: String,
    pub variables_reference: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluate_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexed_variables: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presentation_hint: Option<VariablePresentationHint>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariablePresentationHint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct VariablesBody {
    pub variables: Vec<Variable>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateBody {
    pub result: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub variables_reference: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexed_variables: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContinueBody {
    pub all_threads_continued: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoppedEventBody {
    pub reason: &'static str,
    pub thread_id: i64,
    pub all_threads_stopped: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hit_breakpoint_ids: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContinuedEventBody {
    pub thread_id: i64,
    pub all_threads_continued: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadEventBody {
    pub reason: &'static str,
    pub thread_id: i64,
}

#[derive(Debug, Serialize)]
pub struct OutputEventBody {
    pub category: &'static str,
    pub output: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitedEventBody {
    pub exit_code: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessEventBody {
    pub name: String,
    pub system_process_id: i64,
    pub is_local_process: bool,
    pub start_method: &'static str,
}

#[derive(Debug, Serialize)]
pub struct BreakpointEventBody {
    pub reason: &'static str,
    pub breakpoint: Breakpoint,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attach_argument_name_is_read() {
        for name in ATTACH_ARGUMENT_NAMES {
            // A value of the wrong type for every field: it fails only if the field exists.
            let arguments = serde_json::json!({ *name: "not valid here" });
            assert!(serde_json::from_value::<AttachArguments>(arguments).is_err(), "{name} is not read");
        }
    }
}
