//! Server functions and the types they exchange with the browser.
//!
//! Each server function is thin: it finds the caller and the shared state, calls a plain async function in
//! `crate::server`, and maps that module's error into [`AppError`] once.
mod auth;
mod chats;
mod checks;
mod error;
mod locale;
mod metrics;
pub mod reasons;
mod status;
mod stream;
mod types;
mod usage;

pub use auth::{
    ChangePassword, ConfirmSignIn, EmailMethod, EmailSent, LinkState, SendSignInEmail, SetDisplayName, SignInOptions,
    SignInWithPassword, SignOut, UserInfo, VerifyEmailCode, change_password, confirm_sign_in, current_user,
    send_sign_in_email, set_display_name, sign_in_link, sign_in_methods, sign_in_with_password, sign_out,
    verify_email_code,
};
pub use chats::{
    DeleteConversation, EditStep, PAGE_SIZE, RemoveSaved, RenameConversation, RerunSaved, ScheduleSaved, SetStar,
    ToolRerun, UpdateSavedNote, conversation_exchanges, delete_conversation, edit_step, list_conversations, list_saved,
    remove_saved, rename_conversation, rerun_saved, rerun_tool, schedule_saved, search_history, set_star,
    update_saved_note,
};
pub use checks::{
    AnswerChecks, CellChange, CellRef, CheckSource, CheckedNumber, Derivation, NumberNow, NumberStatus, RerunReport,
    StepDiff, Verdict,
};
pub use error::AppError;
pub use locale::{LOCALE_COOKIE, SetLocale, set_locale};
pub use metrics::WriterMetrics;
pub use status::{ComponentStatus, StatusReport, TableCount, system_status};
pub use stream::{ChartKind, ChartSeries, ChartSpec, ChatRequest, RunEnd, RunEvent, RunHandle, TablePreview};
pub use types::{ConversationSummary, Exchange, Page, Profile, RerunEvery, SavedChat, SavedRef, StepEdit, page_window};
pub use usage::{
    AdminDashboard, AlertNotice, AlertView, DailyUsage, DismissAlert, ExpensiveQuestion, LimitsView, Meter, MyUsage,
    SavedChange, SetUserLimits, ToolUsage, UserActivity, admin_exchange, dismiss_alert, fetch_admin_dashboard,
    fetch_my_usage, set_user_limits,
};
