"""Simulated workers for end-to-end runs: they pop over HTTP, "generate" for a while and deliver.

A simulated image worker takes a batch (every job of one request it may take at once), works
`seconds_per_item` per image like a GPU does, uploads a real WebP to each `r2_uploads` URL and
submits "R2". A text worker answers a fixed text; an alchemist (`/interrogate/pop`) answers each
form with a result of the right shape. A route the horde does not serve (404) makes that worker
wait and try again later, so one harness serves every mode.
"""

from __future__ import annotations

import threading
import time

import requests

from tests.imaging import REGEN, webp_bytes

KOBOLD_BRIDGE = "KoboldAI Bridge:12:https://github.com/db0/KoboldAI-Horde-Bridge"
ALCHEMY_BRIDGE = REGEN


class SimulatedWorker(threading.Thread):
    """One worker of one kind ("image", "text" or "alchemy") until `stop()`."""

    def __init__(self, base_url: str, api_key: str, kind: str, name: str, models: list[str],
                 seconds_per_item: float, idle_seconds: float = 0.5):
        super().__init__(name=f"simulated-{kind}-{name}", daemon=True)
        self.base_url = base_url.rstrip("/")
        self.kind = kind
        self.worker_name = name
        self.models = models
        self.seconds_per_item = seconds_per_item
        self.idle_seconds = idle_seconds
        self.session = requests.Session()
        self.session.headers["apikey"] = api_key
        self._stop_event = threading.Event()
        self.delivered = 0
        self.errors: list[str] = []
        self.cancelled_forms = 0  # alchemy forms whose interrogation was cancelled while we worked
        self._image = webp_bytes(64, 64)

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        work = {"image": self._image_round, "text": self._text_round, "alchemy": self._alchemy_round}[self.kind]
        while not self._stop_event.is_set():
            try:
                busy = work()
            except requests.RequestException as exc:  # the server restarting or going away: try again
                self.errors.append(repr(exc))
                busy = False
            if not busy:
                self._stop_event.wait(self.idle_seconds)

    def _post(self, path: str, body: dict) -> requests.Response:
        return self.session.post(f"{self.base_url}/api/v2/{path}", json=body, timeout=30)

    def _pop(self, path: str, body: dict) -> dict | None:
        answer = self._post(path, body)
        if answer.status_code == 404:  # not served by this horde (yet): look again later
            self._stop_event.wait(5)
            return None
        if answer.status_code != 200:
            self.errors.append(f"{path}: {answer.status_code} {answer.text[:300]}")
            return None
        return answer.json()

    def _submit(self, path: str, body: dict) -> None:
        answer = self._post(path, body)
        if answer.status_code == 200:
            self.delivered += 1
        elif path == "interrogate/submit" and answer.status_code == 400 and answer.json().get("rc") == "DuplicateGen":
            # A form cancelled while it was worked on is answered DuplicateGen (spec api.md 3.13,
            # behaviour: cancel turns processing forms CANCELLED); a real alchemist moves on.
            self.cancelled_forms += 1
        else:
            self.errors.append(f"{path}: {answer.status_code} {answer.text[:300]}")

    def _work(self, items: int) -> None:
        self._stop_event.wait(self.seconds_per_item * items)

    def _image_round(self) -> bool:
        job = self._pop("generate/pop", {
            "name": self.worker_name, "models": self.models, "bridge_agent": REGEN, "amount": 20,
            "max_pixels": 4096 * 4096, "nsfw": True, "allow_img2img": True, "allow_painting": True,
            "allow_post_processing": True, "allow_lora": True, "allow_controlnet": True,
        })
        if not job or not job.get("ids"):
            return False
        self._work(len(job["ids"]))
        seed = int(job.get("payload", {}).get("seed") or 1)
        for job_id, upload in zip(job["ids"], job.get("r2_uploads") or [job.get("r2_upload")] * len(job["ids"])):
            put = self.session.put(upload, data=self._image, timeout=30)
            if put.status_code != 200:
                self.errors.append(f"upload: {put.status_code} {put.text[:300]}")
                continue
            self._submit("generate/submit", {"id": job_id, "generation": "R2", "state": "ok", "seed": seed})
        return True

    def _text_round(self) -> bool:
        job = self._pop("generate/text/pop", {
            "name": self.worker_name, "models": self.models, "bridge_agent": KOBOLD_BRIDGE,
            "max_length": 512, "max_context_length": 4096,
        })
        if not job or not job.get("id"):
            return False
        self._work(1)
        self._submit("generate/text/submit", {"id": job["id"], "generation": "A simulated answer.", "state": "ok", "seed": 1})
        return True

    def _alchemy_round(self) -> bool:
        job = self._pop("interrogate/pop", {
            "name": self.worker_name, "bridge_agent": ALCHEMY_BRIDGE, "amount": 5, "max_tiles": 256,
            "forms": ["caption", "interrogation", "nsfw", *POST_PROCESSOR_FORMS],
        })
        forms = (job or {}).get("forms") or []
        if not forms:
            return False
        self._work(len(forms))
        for form in forms:
            name = form["form"]
            if form.get("r2_upload"):
                self.session.put(form["r2_upload"], data=self._image, timeout=30)
                result = {name: "R2"}
            elif name == "caption":
                result = {"caption": "a simulated caption"}
            elif name == "nsfw":
                result = {"nsfw": False}
            else:
                result = {"interrogation": {"tags": [{"text": "simulated", "confidence": 0.9}]}}
            self._submit("interrogate/submit", {"id": form["id"], "result": result, "state": "ok"})
        return True


POST_PROCESSOR_FORMS = [
    "GFPGAN", "CodeFormers", "RealESRGAN_x2plus", "RealESRGAN_x4plus", "RealESRGAN_x4plus_anime_6B",
    "NMKD_Siax", "4x_AnimeSharp", "strip_background",
]
