//! Properties and worked examples of the pure core, over the shipped files: the benefit
//! calculator against every hand-worked example and under generated claims, and the
//! workflow engine under generated actors and facts, and extreme amounts through intake,
//! pricing, screening statistics and report sums.
mod calc;
mod extremes;
mod fuzz;
mod workflow;
