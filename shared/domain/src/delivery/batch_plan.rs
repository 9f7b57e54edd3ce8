//! Cutting a recipient list into batches at a durable checkpoint: each batch is a byte range
//! of the list and the rows in it. The planner saves the cursor with the batches it plans,
//! so a planner killed half-way resumes after the last saved batch and plans none twice.

use serde::{Deserialize, Serialize};

/// Where planning stands: saved in the run with each group of planned batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanCursor {
    /// The list's byte where the next batch starts.
    pub byte_offset: u64,
    /// The row number of the next recipient (rows count recipients, not blank lines).
    pub next_row: u64,
    /// The sequence number of the next batch.
    pub next_batch: u32,
}

/// A planned batch: rows `first_row..first_row + rows` in bytes `start_byte..end_byte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedBatch {
    /// Its sequence number in the run (0, 1, …).
    pub seq: u32,
    /// The row number of its first recipient.
    pub first_row: u64,
    /// How many recipients it holds.
    pub rows: u32,
    /// Its first byte in the list.
    pub start_byte: u64,
    /// One past its last byte.
    pub end_byte: u64,
}

/// A group of planned batches to commit with the cursor after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCommit {
    /// The cursor after the group.
    pub cursor: PlanCursor,
    /// The group (kept with the run until the next commit, to be sent again after a crash).
    pub group: Vec<PlannedBatch>,
    /// Whether the group ends the list (the run becomes SENDING).
    pub last: bool,
}

impl PlanCommit {
    /// Recipients in the group (added to the run's total).
    pub fn rows(&self) -> u64 {
        self.group.iter().map(|batch| u64::from(batch.rows)).sum()
    }
}

/// Cuts lines into batches of `batch_size` recipients, starting from a saved cursor.
#[derive(Debug)]
pub struct BatchCutter {
    batch_size: u32,
    /// The cursor after the last batch handed out.
    cursor: PlanCursor,
    /// Bytes and rows read since then.
    pending_bytes: u64,
    pending_rows: u32,
}

impl BatchCutter {
    /// Starts cutting at `cursor` (the list is read from `cursor.byte_offset`).
    pub fn new(cursor: PlanCursor, batch_size: u32) -> Self {
        Self {
            batch_size: batch_size.max(1),
            cursor,
            pending_bytes: 0,
            pending_rows: 0,
        }
    }

    /// Takes the next line (`bytes` long, blank or not); returns the batch it fills.
    pub fn push_line(&mut self, bytes: u64, blank: bool) -> Option<PlannedBatch> {
        self.pending_bytes += bytes;
        if !blank {
            self.pending_rows += 1;
        }
        (self.pending_rows == self.batch_size).then(|| self.cut())
    }

    /// Ends the list: the last, partial batch, if any recipient is left.
    pub fn finish(&mut self) -> Option<PlannedBatch> {
        (self.pending_rows > 0).then(|| self.cut())
    }

    /// The cursor after the batches handed out so far: save it with them.
    pub const fn cursor(&self) -> PlanCursor {
        self.cursor
    }

    fn cut(&mut self) -> PlannedBatch {
        let batch = PlannedBatch {
            seq: self.cursor.next_batch,
            first_row: self.cursor.next_row,
            rows: self.pending_rows,
            start_byte: self.cursor.byte_offset,
            end_byte: self.cursor.byte_offset + self.pending_bytes,
        };
        self.cursor = PlanCursor {
            byte_offset: batch.end_byte,
            next_row: batch.first_row + u64::from(batch.rows),
            next_batch: batch.seq + 1,
        };
        self.pending_bytes = 0;
        self.pending_rows = 0;
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as (bytes, blank).
    fn cut_all(cutter: &mut BatchCutter, lines: &[(u64, bool)]) -> Vec<PlannedBatch> {
        let mut batches: Vec<PlannedBatch> = lines
            .iter()
            .filter_map(|(bytes, blank)| cutter.push_line(*bytes, *blank))
            .collect();
        batches.extend(cutter.finish());
        batches
    }

    #[test]
    fn cuts_full_batches_and_a_last_partial_one() {
        let lines = [
            (10, false),
            (1, true),
            (12, false),
            (11, false),
            (9, false),
            (1, true),
        ];
        let mut cutter = BatchCutter::new(PlanCursor::default(), 2);
        let batches = cut_all(&mut cutter, &lines);
        assert_eq!(
            batches,
            vec![
                PlannedBatch {
                    seq: 0,
                    first_row: 0,
                    rows: 2,
                    start_byte: 0,
                    end_byte: 23
                },
                PlannedBatch {
                    seq: 1,
                    first_row: 2,
                    rows: 2,
                    start_byte: 23,
                    end_byte: 43
                },
            ]
        );
        assert_eq!(
            cutter.cursor(),
            PlanCursor {
                byte_offset: 43,
                next_row: 4,
                next_batch: 2
            }
        );
    }

    #[test]
    fn a_resumed_plan_continues_exactly_where_the_saved_cursor_stopped() {
        let lines: Vec<(u64, bool)> = (0..25).map(|i| (10 + i % 3, i % 7 == 6)).collect();
        let whole = cut_all(&mut BatchCutter::new(PlanCursor::default(), 4), &lines);

        // Plan two batches, "crash", resume from the saved cursor with the rest of the list.
        let mut first = BatchCutter::new(PlanCursor::default(), 4);
        let mut consumed = 0;
        let mut planned = Vec::new();
        while planned.len() < 2 {
            planned.extend(first.push_line(lines[consumed].0, lines[consumed].1));
            consumed += 1;
        }
        let saved = first.cursor();
        let offset: u64 = lines[..consumed].iter().map(|l| l.0).sum();
        assert_eq!(saved.byte_offset, offset);
        let mut resumed = BatchCutter::new(saved, 4);
        planned.extend(cut_all(&mut resumed, &lines[consumed..]));
        assert_eq!(planned, whole);
        let rows: u64 = whole.iter().map(|b| u64::from(b.rows)).sum();
        assert_eq!(rows, lines.iter().filter(|l| !l.1).count() as u64);
    }

    #[test]
    fn a_commit_counts_the_rows_of_its_group() {
        let batch = |seq, rows| PlannedBatch {
            seq,
            first_row: 0,
            rows,
            start_byte: 0,
            end_byte: 1,
        };
        let commit = PlanCommit {
            cursor: PlanCursor::default(),
            group: vec![batch(0, 50), batch(1, 7)],
            last: true,
        };
        assert_eq!(commit.rows(), 57);
    }

    #[test]
    fn an_empty_or_blank_list_plans_nothing() {
        let mut cutter = BatchCutter::new(PlanCursor::default(), 3);
        assert!(cut_all(&mut cutter, &[(1, true), (2, true)]).is_empty());
        assert_eq!(cutter.cursor(), PlanCursor::default());
        let mut zero = BatchCutter::new(PlanCursor::default(), 0);
        assert_eq!(zero.push_line(5, false).map(|b| b.rows), Some(1));
    }
}
