//! Seeded subsampling without replacement, shared by CITA and staged alignment: the
//! workspace's one implementation, [`ite_core::sampling::subsample`].

pub(crate) use ite_core::sampling::subsample;
