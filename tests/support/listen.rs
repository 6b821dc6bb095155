//! A loopback TCP listener for a test's own async server (the HTTP/2 ones,
//! written with the h2 crate): port 0, its own thread and current-thread
//! runtime, each connection handed to `serve`; stopped and joined on drop.

use std::future::Future;
use std::net::SocketAddr;
use std::thread;

pub struct Listening {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

/// Accept on 127.0.0.1:0 and run `serve(connection)` for each, until drop.
pub fn listen<F, Fut>(serve: F) -> Listening
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let std = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std.set_nonblocking(true).unwrap();
    let addr = std.local_addr().unwrap();
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    let thread = thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std).unwrap();
            loop {
                tokio::select! {
                    _ = &mut rx => return,
                    a = listener.accept() => {
                        let Ok((tcp, _)) = a else { continue };
                        tokio::spawn(serve(tcp));
                    }
                }
            }
        });
    });
    Listening {
        addr,
        stop: Some(tx),
        thread: Some(thread),
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
