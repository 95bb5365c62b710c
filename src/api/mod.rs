//! Server functions and the types they exchange with the browser.
//!
//! Each server function is thin: it finds the caller and the shared state, calls a plain async function in
//! `crate::server`, and maps that module's error into [`AppError`] once.
mod auth;
mod chats;
mod error;
mod metrics;
mod status;
mod stream;
mod types;
mod usage;

pub use auth::{
    UserInfo, change_password, current_user, send_sign_in_email, set_display_name, sign_in_with_password, sign_out,
    sign_up_with_password, verify_email_code,
};
pub use chats::{
    PAGE_SIZE, ToolRerun, conversation_exchanges, delete_conversation, list_conversations, list_saved, remove_saved,
    rerun_tool, save_answer, search_history, unstar_answer, update_saved_note,
};
pub use error::AppError;
pub use metrics::WriterMetrics;
pub use status::{ComponentStatus, StatusReport, TableCount, system_status};
pub use stream::{ChartKind, ChartSeries, ChartSpec, ChatRequest, RunEnd, RunEvent, RunHandle, TablePreview};
pub use types::{ConversationSummary, Exchange, Page, Profile, SavedChat, SavedRef};
pub use usage::{
    AdminDashboard, AlertView, DailyUsage, ExpensiveQuestion, LimitsView, Meter, MyUsage, ToolUsage, UserActivity,
    admin_exchange, dismiss_alert, fetch_admin_dashboard, fetch_my_usage, set_user_limits,
};
