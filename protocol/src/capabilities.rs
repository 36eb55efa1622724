//! What pydbg can do, as `initialize` announces it. One list for the in-process core and the
//! stdio adapter, which must answer `initialize` before the program exists.

use super::types::{Capabilities, ExceptionBreakpointsFilter};

pub fn capabilities() -> Capabilities {
    Capabilities {
        supports_configuration_done_request: true,
        supports_function_breakpoints: true,
        supports_conditional_breakpoints: true,
        supports_hit_conditional_breakpoints: true,
        supports_log_points: true,
        supports_evaluate_for_hovers: true,
        supports_terminate_request: true,
        support_terminate_debuggee: true,
        supports_delayed_stack_trace_loading: true,
        supports_single_thread_execution_requests: true,
        supports_exception_info_request: true,
        supports_exception_filter_options: true,
        supports_exception_options: true,
        supports_set_variable: true,
        supports_set_expression: true,
        supports_completions_request: true,
        supports_goto_targets_request: true,
        supports_step_in_targets_request: true,
        supports_modules_request: true,
        supports_clipboard_context: true,
        supports_value_formatting_options: true,
        supports_cancel_request: true,
        supports_stepping_granularity: true,
        supports_disassemble_request: true,
        supports_instruction_breakpoints: true,
        supports_data_breakpoints: true,
        supports_restart_frame: true,
        supports_breakpoint_locations_request: true,
        supports_loaded_sources_request: true,
        supports_step_back: true,
        completion_trigger_characters: vec![".", "["],
        exception_breakpoint_filters: exception_filters(),
    }
}

const CONDITION_HELP: &str =
    "Exception types to stop on, e.g. \"ValueError, KeyError\", or to skip, e.g. \"not StopIteration\"";

fn exception_filters() -> Vec<ExceptionBreakpointsFilter> {
    vec![
        ExceptionBreakpointsFilter {
            filter: "raised",
            label: "Raised Exceptions",
            description: "Stop where an exception is raised, even if it is handled.",
            default: false,
            supports_condition: true,
            condition_description: CONDITION_HELP,
        },
        ExceptionBreakpointsFilter {
            filter: "uncaught",
            label: "Uncaught Exceptions",
            description: "Stop before an exception ends the program or a thread.",
            default: true,
            supports_condition: true,
            condition_description: CONDITION_HELP,
        },
        ExceptionBreakpointsFilter {
            filter: "userUnhandled",
            label: "User Uncaught Exceptions",
            description: "Stop when an exception leaves your code into library code, or leaves your code unhandled.",
            default: false,
            supports_condition: true,
            condition_description: CONDITION_HELP,
        },
    ]
}
