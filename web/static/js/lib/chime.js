// @ts-check
// A short two-tone chime made with WebAudio (no audio files). Browsers only let a
// page make sound after a tap or key press, so unlock() is called from one.

export class Chime {
  constructor() {
    /** @type {AudioContext | null} */
    this.context = null;
  }

  unlock() {
    if (!window.AudioContext) return;
    if (this.context === null) this.context = new AudioContext();
    if (this.context.state === "suspended") this.context.resume();
  }

  ring() {
    this.unlock();
    const context = this.context;
    if (context === null) return;
    const start = context.currentTime + 0.02;
    for (const [offset, frequency] of [
      [0, 880],
      [0.22, 660],
    ]) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.2);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + 0.22);
    }
  }
}
