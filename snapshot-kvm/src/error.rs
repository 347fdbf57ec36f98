//! The error of capture and restore: which KVM call failed.

/// A KVM call of a capture or restore failed.
#[derive(Debug, thiserror::Error)]
#[error("{call} failed: {source}")]
pub struct KvmError {
    /// The ioctl (`KVM_SET_SREGS`), or what was being done.
    pub call: &'static str,
    /// The error KVM returned.
    #[source]
    pub source: kvm_ioctls::Error,
}

/// Names the KVM call of a result.
pub(crate) trait Call<T> {
    fn call(self, call: &'static str) -> Result<T, KvmError>;
}

impl<T> Call<T> for Result<T, kvm_ioctls::Error> {
    fn call(self, call: &'static str) -> Result<T, KvmError> {
        self.map_err(|source| KvmError { call, source })
    }
}
