//! What the `animecam` binary shares with its integration tests: the pipeline descriptions of
//! `pipelines/`, how their variables are filled in, and the changes made on a parsed pipeline.

pub mod descriptions;
