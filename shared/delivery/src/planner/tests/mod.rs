//! Unit tests of the planner against in-memory ports.

mod fakes;
mod plan_run;
