//! The tray process's main loop, on the main thread: the tray icon, its menu and the hotkeys
//! live there. GTK's on Linux; elsewhere tao's (Tauri's own), which pumps the Win32 messages
//! the tray icon and hotkeys need on Windows and runs NSApplication on macOS, where links the
//! app is asked to open arrive as Apple Events rather than on the command line.
//!
//! One API everywhere: [`init`] and [`run`] on the main thread, [`invoke`] and [`quit`] from
//! any thread.

/// Why the main loop cannot start.
#[derive(Debug, thiserror::Error)]
pub enum MainLoopError {
    /// The desktop's toolkit did not start (no graphical session).
    #[error("cannot start the desktop's event loop (is there a graphical session?): {0}")]
    Start(String),
    /// [`run`] was called without [`init`] on this thread.
    #[error("the main loop runs only on the thread that initialised it")]
    NotInitialised,
}

pub use imp::{init, invoke, quit, run};

#[cfg(target_os = "linux")]
mod imp {
    use super::MainLoopError;

    /// Starts the toolkit; call first, on the main thread.
    pub fn init() -> Result<(), MainLoopError> {
        gtk::init().map_err(|e| MainLoopError::Start(e.to_string()))
    }

    /// Runs `start`, then the loop until [`quit`]; returns `start`'s error without running.
    /// Links arrive on the command line here, so `_opened` is never called.
    pub fn run<E: From<MainLoopError>>(
        start: impl FnOnce() -> Result<(), E>,
        _opened: impl FnMut(String) + 'static,
    ) -> Result<(), E> {
        start()?;
        gtk::main();
        Ok(())
    }

    /// Runs `f` on the main thread (at once when called there).
    pub fn invoke(f: impl FnOnce() + Send + 'static) {
        gtk::glib::MainContext::default().invoke(f);
    }

    /// Ends [`run`].
    pub fn quit() {
        invoke(gtk::main_quit);
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::cell::RefCell;
    use std::sync::{Mutex, OnceLock};

    use tao::event::{Event, StartCause};
    use tao::event_loop::{ControlFlow, EventLoop, EventLoopBuilder, EventLoopProxy};
    use tao::platform::run_return::EventLoopExtRunReturn;

    use super::MainLoopError;

    /// What other threads ask of the main thread.
    enum Task {
        Run(Box<dyn FnOnce() + Send>),
        Quit,
    }

    thread_local! {
        /// The loop between [`init`] and [`run`], owned by the main thread.
        static LOOP: RefCell<Option<EventLoop<Task>>> = const { RefCell::new(None) };
    }

    /// Reaches the loop from any thread.
    static PROXY: OnceLock<Mutex<EventLoopProxy<Task>>> = OnceLock::new();

    /// Creates the event loop; call first, on the main thread.
    pub fn init() -> Result<(), MainLoopError> {
        #[cfg_attr(not(target_os = "macos"), expect(unused_mut))]
        let mut event_loop = EventLoopBuilder::<Task>::with_user_event().build();
        // A tray app: no Dock icon, no menu bar of its own (its windows are other processes).
        #[cfg(target_os = "macos")]
        {
            use tao::platform::macos::{ActivationPolicy, EventLoopExtMacOS};
            event_loop.set_activation_policy(ActivationPolicy::Accessory);
        }
        // A second init keeps the first loop's proxy: the loop it reaches is the one run.
        let _ = PROXY.set(Mutex::new(event_loop.create_proxy()));
        LOOP.with(|cell| *cell.borrow_mut() = Some(event_loop));
        Ok(())
    }

    /// Runs the loop until [`quit`]: `start` once it is running (macOS shows a tray icon
    /// created only then), and `opened` for each link the system asks the app to open.
    /// Returns `start`'s error, having left the loop.
    pub fn run<E: From<MainLoopError>>(
        start: impl FnOnce() -> Result<(), E>,
        mut opened: impl FnMut(String) + 'static,
    ) -> Result<(), E> {
        let mut event_loop = LOOP
            .with(|cell| cell.borrow_mut().take())
            .ok_or(MainLoopError::NotInitialised)?;
        let mut start = Some(start);
        let mut failed = None;
        event_loop.run_return(|event, _, control_flow| {
            *control_flow = ControlFlow::Wait;
            match event {
                Event::NewEvents(StartCause::Init) => {
                    if let Some(Err(e)) = start.take().map(|start| start()) {
                        failed = Some(e);
                        *control_flow = ControlFlow::Exit;
                    }
                }
                Event::UserEvent(Task::Run(f)) => f(),
                Event::UserEvent(Task::Quit) => *control_flow = ControlFlow::Exit,
                Event::Opened { urls } => urls.iter().for_each(|url| opened(url.to_string())),
                _ => {}
            }
        });
        failed.map_or(Ok(()), Err)
    }

    /// Hands `task` to the loop; before [`init`] it is dropped, with a warning.
    fn send(task: Task) {
        match PROXY.get() {
            Some(proxy) => {
                if proxy
                    .lock()
                    .expect("main loop lock")
                    .send_event(task)
                    .is_err()
                {
                    tracing::debug!("the main loop has ended");
                }
            }
            None => tracing::warn!("the main loop is not initialised"),
        }
    }

    /// Runs `f` on the main thread, once the loop runs.
    pub fn invoke(f: impl FnOnce() + Send + 'static) {
        send(Task::Run(Box::new(f)));
    }

    /// Ends [`run`].
    pub fn quit() {
        send(Task::Quit);
    }
}
