"""The demo: its pipeline file, voiceover script, frame effect and music bed
(shipped in the wheel; `reelforge demo DIR` writes them out and runs them)."""
