//! The terminal while the dashboard owns it (raw mode, the alternate screen, mouse capture) and
//! every way of giving it back: a normal quit, a panic on the dashboard's own thread, a second
//! Ctrl-C or SIGTERM. A panic on any other thread (a worker, a link) leaves the screen alone:
//! the dashboard shows it (`take_background_panic`) and the engine stops the workload.

use std::io;
use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};

/// A panic hook, as the standard library keeps it.
pub type PanicHook = dyn Fn(&PanicHookInfo<'_>) + Send + Sync + 'static;

/// Whether the dashboard holds the terminal now.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Held while the terminal is being given back, so a second caller (the signal thread about to
/// exit the process) waits until the first has written every sequence instead of returning at
/// once and exiting under it.
static RESTORING: Mutex<()> = Mutex::new(());

/// The last panic on a thread other than the dashboard's, for the dashboard to show.
static BACKGROUND_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Takes the terminal: raw mode, the alternate screen, mouse capture, and a panic hook that gives
/// it back before a panic on this thread is printed. [`leave`] undoes all of it.
///
/// # Errors
/// The terminal refused a mode (it is restored before returning).
pub(crate) fn enter() -> io::Result<(DefaultTerminal, Arc<PanicHook>)> {
    let previous: Arc<PanicHook> = Arc::from(panic::take_hook());
    panic::set_hook(dashboard_hook(
        thread::current().id(),
        restore,
        previous.clone(),
    ));
    ACTIVE.store(true, SeqCst);
    let entered = enable_raw_mode()
        .and_then(|()| execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture))
        .and_then(|()| {
            ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(io::stdout()))
        });
    match entered {
        Ok(terminal) => Ok((terminal, previous)),
        Err(err) => {
            leave(previous);
            Err(err)
        }
    }
}

/// Gives the terminal back and puts back the panic hook that was there before [`enter`].
pub(crate) fn leave(previous: Arc<PanicHook>) {
    restore();
    panic::set_hook(Box::new(move |info| previous(info)));
}

/// Gives the terminal back if the dashboard holds it (idempotent; safe from any thread): mouse
/// capture off, the main screen back, the cursor shown, raw mode off. Returns only once the
/// terminal is back, whichever thread does it.
pub fn restore() {
    let _restoring = RESTORING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if ACTIVE.swap(false, SeqCst) {
        let _ = execute!(
            io::stdout(),
            DisableMouseCapture,
            LeaveAlternateScreen,
            cursor::Show
        );
        let _ = disable_raw_mode();
    }
}

/// The last panic on a thread other than the dashboard's since the last call, if any.
pub(crate) fn take_background_panic() -> Option<String> {
    BACKGROUND_PANIC.lock().ok()?.take()
}

/// A hook for while the dashboard draws on `dashboard`'s thread: a panic there calls `restore`
/// and then `previous` (which prints it on the restored screen); a panic anywhere else is kept
/// for the dashboard to show (`take_background_panic`) and not printed, which would scribble over the dashboard.
pub fn dashboard_hook(
    dashboard: ThreadId,
    restore: fn(),
    previous: Arc<PanicHook>,
) -> Box<PanicHook> {
    Box::new(move |info| {
        if thread::current().id() == dashboard {
            restore();
            previous(info);
            return;
        }
        let name = thread::current()
            .name()
            .map_or_else(|| "a thread".to_owned(), |n| format!("thread {n}"));
        let message = crate::engine::panic_message(info.payload());
        let at = info
            .location()
            .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
        if let Ok(mut last) = BACKGROUND_PANIC.lock() {
            *last = Some(format!("{name} panicked{at}: {message}"));
        }
    })
}
