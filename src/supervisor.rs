//! The event loop: one thread, every signal blocked and read from a signalfd,
//! and nothing else. While nothing happens grace sleeps in a single `ppoll`
//! with no timeout, so an idle container costs no wake-ups at all.

use std::io;

use crate::cli::{Config, ForwardTo};
use crate::reap::{self, WaitStatus};
use crate::signals::{self, SIGCHLD, SIGPIPE, Signal};
use crate::sys::{self, ReceivedSignal, SignalFd};
use crate::{debug, info};

pub struct Supervisor<'a> {
    config: &'a Config,
    signals: SignalFd,
    main_pid: i32,
    main_status: Option<WaitStatus>,
    own_pid: i32,
}

impl<'a> Supervisor<'a> {
    pub fn new(config: &'a Config, signals: SignalFd, main_pid: i32) -> Self {
        Self {
            config,
            signals,
            main_pid,
            main_status: None,
            own_pid: std::process::id() as i32,
        }
    }

    /// Runs until the main process has exited and returns how it ended.
    pub fn run(mut self) -> io::Result<WaitStatus> {
        let mut batch = [ReceivedSignal::default(); 32];
        loop {
            if let Some(status) = self.main_status {
                return Ok(status);
            }
            self.signals.wait(None)?;
            let count = self.signals.read(&mut batch)?;
            for received in &batch[..count] {
                self.on_signal(*received)?;
            }
        }
    }

    fn on_signal(&mut self, received: ReceivedSignal) -> io::Result<()> {
        let Some(signal) = Signal::new(received.number) else {
            return Ok(());
        };
        if signal == SIGCHLD {
            return self.reap();
        }
        // A write to a closed stderr raises SIGPIPE in grace itself; that one
        // is grace's own business, not the command's.
        if signal == SIGPIPE && received.sender == self.own_pid {
            return Ok(());
        }
        if !signals::is_forwarded(signal) {
            debug!(
                "received {signal} from pid {}; not forwarded",
                received.sender
            );
            return Ok(());
        }
        self.forward(signal);
        Ok(())
    }

    fn forward(&self, signal: Signal) {
        let target = match self.config.forward_to {
            ForwardTo::Child => self.main_pid,
            ForwardTo::Group => -self.main_pid,
        };
        match sys::kill(target, signal.number()) {
            Ok(()) => debug!("forwarded {signal} to {}", describe_target(target)),
            Err(error) => debug!(
                "could not forward {signal} to {}: {error}",
                describe_target(target)
            ),
        }
    }

    fn reap(&mut self) -> io::Result<()> {
        let main_pid = self.main_pid;
        let main_status = &mut self.main_status;
        reap::reap_all(|exit| {
            if exit.pid == main_pid {
                info!("main process {} {}", exit.pid, exit.status.describe());
                *main_status = Some(exit.status);
            } else {
                debug!("reaped process {} ({})", exit.pid, exit.status.describe());
            }
        })?;
        Ok(())
    }
}

fn describe_target(target: i32) -> String {
    if target < 0 {
        format!("process group {}", -target)
    } else {
        format!("pid {target}")
    }
}
