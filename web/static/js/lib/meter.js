// @ts-check
// A microphone level meter: WebAudio AnalyserNode → a <meter> element (0–100).
// Browsers start an AudioContext suspended until the person interacts with the
// page, so the meter resumes it on the first tap or key press.

const SAMPLE_EVERY_MS = 100;

export class LevelMeter {
  /** @param {HTMLMeterElement} meter */
  constructor(meter) {
    this.meter = meter;
    /** @type {AudioContext | null} */
    this.context = null;
    /** @type {MediaStreamAudioSourceNode | null} */
    this.source = null;
    /** @type {number | undefined} */
    this.timer = undefined;
    this.resume = () => {
      if (this.context && this.context.state === "suspended") this.context.resume();
    };
  }

  /** @param {MediaStreamTrack | null} track  the microphone's */
  start(track) {
    this.stop();
    if (!track || !window.AudioContext) return;
    this.context = this.context || new AudioContext();
    this.resume();
    document.addEventListener("pointerdown", this.resume, { once: true });
    document.addEventListener("keydown", this.resume, { once: true });
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 512;
    this.source = this.context.createMediaStreamSource(new MediaStream([track]));
    this.source.connect(analyser);
    const samples = new Uint8Array(analyser.fftSize);
    this.timer = setInterval(() => {
      analyser.getByteTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) {
        const centred = (sample - 128) / 128;
        sum += centred * centred;
      }
      const rms = Math.sqrt(sum / samples.length);
      // Speech sits around 0.02–0.2 RMS: scale so it fills most of the meter.
      this.meter.value = Math.min(100, Math.round(rms * 400));
    }, SAMPLE_EVERY_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.source) this.source.disconnect();
    this.source = null;
    this.meter.value = 0;
  }

  close() {
    this.stop();
    if (this.context) this.context.close();
    this.context = null;
  }
}
