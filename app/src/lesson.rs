//! A guided lesson as the page plays it: which part and step it is at, the
//! stop it is playing on to, the answer chosen to the step's question and,
//! at the next stop, that question's answer revealed. The stops are the
//! file's `stop_ms`, computed by the core ([`raftchat_core::lesson::plan`])
//! and checked by the tests, so the page stops exactly where each step's
//! expectations were checked.

use raftchat_core::lesson::{Lesson, LessonStep, Target};
use raftchat_core::recipe::Recipe;
use raftchat_core::{Index, NodeId};
use std::rc::Rc;

#[derive(Clone, Debug)]
pub struct LessonPlay {
    pub lesson: Rc<Lesson>,
    pub part: usize,
    /// The step shown (the run is at or playing on from its stop).
    pub step: usize,
    /// Where each step of the part stops (virtual ms).
    pub stops: Rc<Vec<u64>>,
    /// Playing on to this step's stop.
    pub heading_to: Option<usize>,
    /// The choice made for the shown step's question.
    pub choice: Option<usize>,
    /// The question of the step before, answered: shown with this step.
    pub reveal: Option<Reveal>,
    /// The last step of the last part was reached and Next pressed.
    pub done: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reveal {
    pub answer: String,
    /// Whether the choice made was right (`None`: no choice made).
    pub right: Option<bool>,
    pub explain: String,
}

/// Two plays are equal when they show the same moment of the same lesson
/// (the lesson itself is compared by address: it never changes).
impl PartialEq for LessonPlay {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.lesson, &o.lesson)
            && (
                self.part,
                self.step,
                self.heading_to,
                self.choice,
                self.done,
            ) == (o.part, o.step, o.heading_to, o.choice, o.done)
            && self.reveal == o.reveal
    }
}

impl LessonPlay {
    /// Plans `part` of `lesson`: the play state at its first stop, and the
    /// run to open (it knows its future up to the last stop).
    pub fn start(lesson: Rc<Lesson>, part: usize) -> Result<(LessonPlay, Recipe), String> {
        let p = lesson
            .parts
            .get(part)
            .ok_or_else(|| format!("the lesson has no part {}", part + 1))?;
        // The page reads every step's stop time from the file (the
        // core's `plan` computed them, and the tests check them).
        let stops: Vec<u64> = p.steps.iter().map(|s| s.stop_ms.unwrap_or(0)).collect();
        let first = stops.first().copied().unwrap_or(0);
        let last = stops.last().copied().unwrap_or(0);
        let recipe = Recipe {
            end_ms: last,
            at_ms: first,
            ..p.recipe()
        };
        let play = LessonPlay {
            lesson,
            part,
            step: 0,
            stops: Rc::new(stops),
            heading_to: None,
            choice: None,
            reveal: None,
            done: false,
        };
        Ok((play, recipe))
    }

    pub fn current(&self) -> &LessonStep {
        &self.lesson.parts[self.part].steps[self.step]
    }

    pub fn steps_in_part(&self) -> usize {
        self.stops.len()
    }

    /// Where the run stops next while playing on.
    pub fn next_stop_ms(&self) -> Option<u64> {
        self.heading_to.map(|i| self.stops[i])
    }

    /// The step after this one, if the part has one.
    pub fn following(&self) -> Option<usize> {
        (self.step + 1 < self.stops.len()).then_some(self.step + 1)
    }

    pub fn last_part(&self) -> bool {
        self.part + 1 >= self.lesson.parts.len()
    }

    /// Leaves the shown step for step `to`: its question's answer is
    /// revealed there.
    pub fn head_to(&mut self, to: usize) {
        self.reveal = self.current().question.as_ref().map(|q| Reveal {
            answer: q.choices[q.answer].clone(),
            right: self.choice.map(|c| c == q.answer),
            explain: q.explain.clone(),
        });
        self.heading_to = Some(to);
        self.choice = None;
    }

    /// The run reached the stop it was heading to.
    pub fn arrive(&mut self) {
        if let Some(to) = self.heading_to.take() {
            self.step = to;
        }
    }

    /// What the shown step points at (nothing while playing on).
    pub fn targets(&self) -> &[Target] {
        if self.heading_to.is_some() || self.done {
            return &[];
        }
        &self.current().point
    }
}

/// The parts of the page a step points at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pointed {
    pub nodes: Vec<NodeId>,
    pub chats: Vec<NodeId>,
    pub links: Vec<(NodeId, NodeId)>,
    pub cells: Vec<(NodeId, Index)>,
    pub log: bool,
    pub safety: bool,
    pub held: bool,
}

impl Pointed {
    pub fn of(targets: &[Target]) -> Pointed {
        let mut p = Pointed::default();
        for t in targets {
            match *t {
                Target::Node(n) => p.nodes.push(n),
                Target::Chat(n) => p.chats.push(n),
                Target::Link([a, b]) => p.links.push((a.min(b), a.max(b))),
                Target::Cell { node, index } => p.cells.push((node, index)),
                Target::Log => p.log = true,
                Target::Safety => p.safety = true,
                Target::Held => p.held = true,
            }
        }
        p
    }
}

/// A lesson being written in the page: the run on screen, and the stops
/// added so far (each at the moment it was added), in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Draft {
    pub stops: Vec<DraftStop>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DraftStop {
    pub at_ms: u64,
    pub caption: String,
    pub question: Option<raftchat_core::lesson::Question>,
}

impl Draft {
    /// Adds a stop, after any other at the same moment.
    pub fn add(&mut self, stop: DraftStop) {
        let at = self.stops.partition_point(|s| s.at_ms <= stop.at_ms);
        self.stops.insert(at, stop);
    }

    /// A stop from what the author typed: a caption, and optionally a
    /// question with its choices (one a line) and the right one's number.
    pub fn stop(
        at_ms: u64,
        caption: &str,
        ask: &str,
        choices: &str,
        answer: &str,
    ) -> Result<DraftStop, String> {
        let caption = caption.trim();
        if caption.is_empty() {
            return Err("write a caption for this moment first".into());
        }
        let question = if ask.trim().is_empty() {
            None
        } else {
            let choices: Vec<String> = choices
                .lines()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect();
            if !(2..=6).contains(&choices.len()) {
                return Err("a question needs 2 to 6 choices, one a line".into());
            }
            let answer = answer
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| (1..=choices.len()).contains(&n))
                .ok_or_else(|| {
                    format!(
                        "give the number of the right choice, 1 to {}",
                        choices.len()
                    )
                })?;
            Some(raftchat_core::lesson::Question {
                ask: ask.trim().to_string(),
                choices,
                answer: answer - 1,
                explain: String::new(),
            })
        };
        Ok(DraftStop {
            at_ms,
            caption: caption.to_string(),
            question,
        })
    }
}
