//! A TCP fault injector between the gateway and the emulator: each accepted connection gets
//! the behaviour the test set with [`FaultProxy::set`], and every connection is counted.
//! Plain threads and std sockets, so it works the same for TLS and plain HTTP upstreams (it
//! never looks inside the bytes it forwards).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the next connections see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways to the target.
    Pass,
    /// Close the first `n` connections from now at once (a TLS client sees a failed handshake),
    /// then forward.
    CloseFirst(usize),
    /// Answer with bytes that are not TLS (a TLS client sees a failed handshake).
    Garbage,
    /// Read whatever arrives, never answer.
    Silent,
    /// Forward the request; forward `n` bytes of the response, then reset the connection.
    CutResponseAfter(usize),
}

struct State {
    fault: Fault,
    closed_so_far: usize,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 (a port chosen now) in front of `target`.
    pub fn start(target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(Mutex::new(State {
            fault: Fault::Pass,
            closed_so_far: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s, st) = (accepted.clone(), state.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                let fault = {
                    let mut g = s.lock().unwrap();
                    match g.fault {
                        Fault::CloseFirst(n) if g.closed_so_far < n => {
                            g.closed_so_far += 1;
                            Some(Fault::CloseFirst(n))
                        }
                        Fault::CloseFirst(_) => Some(Fault::Pass),
                        f => Some(f),
                    }
                };
                let fault = fault.unwrap_or(Fault::Pass);
                thread::spawn(move || handle(conn, target, fault));
            }
        });
        FaultProxy {
            addr,
            accepted,
            state,
            stop,
        }
    }

    pub fn set(&self, fault: Fault) {
        let mut g = self.state.lock().unwrap();
        g.fault = fault;
        g.closed_so_far = 0;
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop so it sees `stop`
    }
}

fn reset(conn: TcpStream) {
    // SO_LINGER 0: close() sends RST instead of FIN.
    let _ = socket_linger_zero(&conn);
    drop(conn);
}

fn socket_linger_zero(conn: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, val: *const Linger, len: u32) -> i32;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let rc = unsafe {
        setsockopt(
            conn.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &l,
            std::mem::size_of::<Linger>() as u32,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn handle(mut client: TcpStream, target: SocketAddr, fault: Fault) {
    match fault {
        Fault::CloseFirst(_) => {
            let _ = client.shutdown(Shutdown::Both);
        }
        Fault::Garbage => {
            let mut buf = [0u8; 4096];
            let _ = client.read(&mut buf);
            let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            let _ = client.shutdown(Shutdown::Both);
        }
        Fault::Silent => {
            let mut buf = [0u8; 65536];
            client
                .set_read_timeout(Some(Duration::from_secs(120)))
                .unwrap();
            while matches!(client.read(&mut buf), Ok(n) if n > 0) {}
        }
        Fault::Pass => forward(client, target, usize::MAX),
        Fault::CutResponseAfter(n) => forward(client, target, n),
    }
}

/// Copies client → target in a thread and target → client here, resetting the client after
/// `limit` response bytes.
fn forward(client: TcpStream, target: SocketAddr, limit: usize) {
    let Ok(upstream) = TcpStream::connect(target) else {
        reset(client);
        return;
    };
    let (mut c_read, mut u_write) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    thread::spawn(move || {
        let mut buf = [0u8; 65536];
        loop {
            match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if u_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (upstream, client);
    let mut sent = 0usize;
    let mut buf = [0u8; 65536];
    loop {
        match u_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let take = n.min(limit - sent);
                if c_write.write_all(&buf[..take]).is_err() {
                    break;
                }
                sent += take;
                if sent >= limit {
                    thread::sleep(Duration::from_millis(50)); // let the partial bytes arrive first
                    let _ = u_read.shutdown(Shutdown::Both);
                    // The reader thread holds a clone of the socket: wake it (its read returns
                    // 0 and it drops the clone) so closing here is the last close, sent as RST.
                    let _ = socket_linger_zero(&c_write);
                    let _ = c_write.shutdown(Shutdown::Read);
                    drop(c_write);
                    return;
                }
            }
        }
    }
    let _ = c_write.shutdown(Shutdown::Write);
}
