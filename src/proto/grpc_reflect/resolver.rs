//! What a fetch has learnt and must still ask, apart from the I/O: the
//! service's file, then each import by name until none is missing; a pool
//! that must define the service.

use std::collections::{HashMap, HashSet, VecDeque};

use prost::Message;
use prost_reflect::DescriptorPool;
use prost_types::FileDescriptorProto;

use crate::reflection::{Request, Response, ServerReflectionRequest, ServerReflectionResponse};

/// Most files one fetch takes: a hostile server cannot keep it asking.
const MAX_FILES: usize = 1000;

/// What one reflection stream has learnt, and what it must still ask.
pub(crate) struct Resolver {
    service: String,
    files: HashMap<String, FileDescriptorProto>,
    asked: HashSet<String>,
    queue: VecDeque<Request>,
}

impl Resolver {
    pub(crate) fn new(service: &str) -> Resolver {
        Resolver {
            service: service.to_string(),
            files: HashMap::new(),
            asked: HashSet::new(),
            queue: VecDeque::from([Request::FileContainingSymbol(service.to_string())]),
        }
    }

    /// The next question, or `None` once every file is in.
    pub(crate) fn next(&mut self) -> Option<ServerReflectionRequest> {
        loop {
            let q = self.queue.pop_front()?;
            // Skip a file that came along with a later answer.
            if matches!(&q, Request::FileByFilename(f) if self.files.contains_key(f)) {
                continue;
            }
            return Some(ServerReflectionRequest {
                host: String::new(),
                message_request: Some(q),
            });
        }
    }

    /// Take one answer: its files, and questions for their missing imports.
    pub(crate) fn take(&mut self, resp: ServerReflectionResponse) -> Result<(), String> {
        let asked = match resp.original_request.and_then(|r| r.message_request) {
            Some(Request::FileByFilename(f)) => format!("file {f}"),
            _ => format!("service {}", self.service),
        };
        let files = match resp.message_response {
            Some(Response::FileDescriptorResponse(f)) => f.file_descriptor_proto,
            Some(Response::ErrorResponse(e)) => {
                return Err(format!(
                    "reflection: {asked}: {} (code {})",
                    e.error_message, e.error_code
                ))
            }
            _ => return Err(format!("reflection: {asked}: the answer holds no file")),
        };
        // All of an answer's files first, then what they import: a server
        // may send the imports along, in any order.
        let mut new = Vec::with_capacity(files.len());
        for bytes in files {
            let file = FileDescriptorProto::decode(&bytes[..])
                .map_err(|e| format!("reflection: {asked}: undecodable file descriptor: {e}"))?;
            let name = file.name().to_string();
            self.asked.insert(name.clone());
            new.extend(file.dependency.iter().cloned());
            self.files.insert(name, file);
        }
        for dep in new {
            if !self.files.contains_key(&dep) && self.asked.insert(dep.clone()) {
                self.queue.push_back(Request::FileByFilename(dep));
            }
        }
        if self.files.len() + self.queue.len() > MAX_FILES {
            return Err(format!("reflection: more than {MAX_FILES} files"));
        }
        Ok(())
    }

    /// Every file gathered, as a pool; it must define the service.
    pub(crate) fn pool(self) -> Result<DescriptorPool, String> {
        let mut pool = DescriptorPool::new();
        pool.add_file_descriptor_protos(self.files.into_values())
            .map_err(|e| format!("reflection: the server's descriptors do not build: {e}"))?;
        match pool.get_service_by_name(&self.service) {
            Some(_) => Ok(pool),
            None => Err(format!(
                "reflection: the server's files do not define service {}",
                self.service
            )),
        }
    }
}
