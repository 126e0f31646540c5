"""Typed data passed between stages.

Conventions used everywhere in the package:

* An image is an ``np.ndarray`` of shape (H, W, 3), dtype uint8, RGB, in the photo's
  upright orientation (EXIF already applied).
* A mask is an ``np.ndarray`` of shape (H, W), dtype bool, same H and W as its image.
* A point is (x, y) in pixels of the image it belongs to, x to the right, y down,
  stored as float32. Left and right are the *person's* left and right, as in OpenPose:
  for a person facing the camera their right side is on the image's left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]
Points = npt.NDArray[np.float32]
FloatImage = npt.NDArray[np.float32]
Box = tuple[int, int, int, int]
"""A pixel box (x0, y0, x1, y1), ends exclusive."""


class Category(StrEnum):
    """Which part of the outfit a garment replaces."""

    UPPER = "upper"
    LOWER = "lower"
    OVERALL = "overall"

    @classmethod
    def parse(cls, value: str | Category) -> Category:
        """Returns the category named ``value`` (case-insensitive).

        Raises:
            ValueError: ``value`` names no category.
        """
        if isinstance(value, Category):
            return value
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown category {value!r}: use one of {names} or auto") from None


class Joint(IntEnum):
    """OpenPose-18 (COCO-18) body keypoint indices."""

    NOSE = 0
    NECK = 1
    R_SHOULDER = 2
    R_ELBOW = 3
    R_WRIST = 4
    L_SHOULDER = 5
    L_ELBOW = 6
    L_WRIST = 7
    R_HIP = 8
    R_KNEE = 9
    R_ANKLE = 10
    L_HIP = 11
    L_KNEE = 12
    L_ANKLE = 13
    R_EYE = 14
    L_EYE = 15
    R_EAR = 16
    L_EAR = 17


# MediaPipe pose index for every OpenPose-18 joint (-1: the neck, the shoulders' midpoint).
MEDIAPIPE_FOR_OPENPOSE: tuple[int, ...] = (
    0,
    -1,
    12,
    14,
    16,
    11,
    13,
    15,
    24,
    26,
    28,
    23,
    25,
    27,
    5,
    2,
    8,
    7,
)


@dataclass(frozen=True)
class BodyKeypoints:
    """2-D body keypoints of one person.

    Attributes:
        mediapipe: (33, 2) float32, MediaPipe pose landmarks in pixels (may lie outside
            the image where the model extrapolates a hidden joint).
        visibility: (33,) float32 in [0, 1], MediaPipe's visibility per landmark.
        image_size: (height, width) of the image the points belong to.
    """

    mediapipe: Points
    visibility: npt.NDArray[np.float32]
    image_size: tuple[int, int]

    def openpose18(self) -> npt.NDArray[np.float32]:
        """Returns (18, 3) float32 rows (x, y, confidence) in OpenPose-18 order.

        A joint that is not visible inside the image is (0, 0, 0), as in OpenPose JSON.
        """
        out = np.zeros((18, 3), np.float32)
        for joint, mp_index in enumerate(MEDIAPIPE_FOR_OPENPOSE):
            if mp_index < 0:
                xy = (self.mediapipe[11] + self.mediapipe[12]) / 2
                conf = min(self.visibility[11], self.visibility[12])
            else:
                xy, conf = self.mediapipe[mp_index], self.visibility[mp_index]
            if conf >= 0.5 and self.inside(xy):
                out[joint] = (xy[0], xy[1], conf)
        return out

    def joint(self, joint: Joint) -> npt.NDArray[np.float32]:
        """Returns the (2,) pixel position of an OpenPose-18 joint (extrapolated if hidden)."""
        mp_index = MEDIAPIPE_FOR_OPENPOSE[joint]
        if mp_index < 0:
            return np.asarray((self.mediapipe[11] + self.mediapipe[12]) / 2, np.float32)
        return self.mediapipe[mp_index]

    def joint_visible(self, joint: Joint, threshold: float = 0.5) -> bool:
        """True when the joint is confidently seen inside the image."""
        mp_index = MEDIAPIPE_FOR_OPENPOSE[joint]
        indices = (11, 12) if mp_index < 0 else (mp_index,)
        return all(
            self.visibility[i] >= threshold and self.inside(self.mediapipe[i]) for i in indices
        )

    def inside(self, xy: npt.NDArray[np.float32]) -> bool:
        """True when the point lies inside the image."""
        h, w = self.image_size
        return bool(0 <= xy[0] < w and 0 <= xy[1] < h)


@dataclass(frozen=True)
class BodyAnalysis:
    """What the body stage knows about the person in a photo.

    Attributes:
        keypoints: the chosen person's keypoints.
        person_mask: the chosen person's silhouette.
        face_mask: face skin (forehead to chin, ear to ear).
        head_mask: face plus hair and ears: never repainted.
        hands_mask: both hands, from the wrist to the finger tips.
        skin_lab: (3,) float32 CIELAB mean colour of the face skin, for skin fills.
        other_people: how many other people were seen in the photo.
    """

    keypoints: BodyKeypoints
    person_mask: Mask
    face_mask: Mask
    head_mask: Mask
    hands_mask: Mask
    skin_lab: npt.NDArray[np.float32]
    other_people: int = 0


@dataclass(frozen=True)
class WholeBodyPose:
    """One person's whole-body keypoints as the ``fashn`` engine's pose raster takes them.

    Coordinates are (x, y) normalised to [0, 1] of the image they were found in (x / W,
    y / H; they may fall outside where a joint lies outside the photo). They are float64:
    the raster is drawn at ``int(x * W)``, and a float32 copy of ``x / W`` can land one
    pixel away from the reference, which keeps them in float64. Left and right are the
    person's. A point counts only where its score passes the raster's threshold.

    Attributes:
        body: (18, 2) float64, OpenPose-18 order (``Joint``).
        body_scores: (18,) float32; the neck's is 1 when both shoulders score above 0.3,
            else 0, as DWPose reports it.
        hands: (2, 21, 2) float64, the person's left hand then right hand, each in the
            21-point order of OpenPose's hand model (wrist, then four points per finger
            from the thumb); zeros when unknown.
        hand_scores: (2, 21) float32; 0 when unknown.
        face: (68, 2) float64, the iBUG 68-point face layout; zeros when unknown.
        face_scores: (68,) float32; 0 when unknown.
        source: what found the points: "dwpose", "mediapipe" or "none".
    """

    body: npt.NDArray[np.float64]
    body_scores: npt.NDArray[np.float32]
    hands: npt.NDArray[np.float64]
    hand_scores: npt.NDArray[np.float32]
    face: npt.NDArray[np.float64]
    face_scores: npt.NDArray[np.float32]
    source: str

    def __post_init__(self) -> None:
        shapes: dict[str, tuple[int, ...]] = {
            "body": (18, 2),
            "body_scores": (18,),
            "hands": (2, 21, 2),
            "hand_scores": (2, 21),
            "face": (68, 2),
            "face_scores": (68,),
        }
        for name, shape in shapes.items():
            array = getattr(self, name)
            if array.shape != shape:
                raise ValueError(f"WholeBodyPose.{name} has shape {array.shape}, not {shape}")

    @classmethod
    def blank(cls) -> WholeBodyPose:
        """No point at all (a flat-lay garment): its raster is an empty (black) canvas."""
        return cls(
            body=np.zeros((18, 2)),
            body_scores=np.zeros(18, np.float32),
            hands=np.zeros((2, 21, 2)),
            hand_scores=np.zeros((2, 21), np.float32),
            face=np.zeros((68, 2)),
            face_scores=np.zeros(68, np.float32),
            source="none",
        )


@dataclass(frozen=True)
class GarmentLandmarks:
    """Named landmarks on a garment photo, (x, y) pixels; None where the garment has none.

    Tops use the neckline, shoulders, armpits, sleeve ends and hem corners; trousers the
    waist corners, crotch and leg hems. ``sleeve_end_*`` and ``leg_hem_*`` are the centres
    of the cuff and of the leg opening.
    """

    neckline: tuple[float, float] | None = None
    shoulder_r: tuple[float, float] | None = None
    shoulder_l: tuple[float, float] | None = None
    armpit_r: tuple[float, float] | None = None
    armpit_l: tuple[float, float] | None = None
    sleeve_end_r: tuple[float, float] | None = None
    sleeve_end_l: tuple[float, float] | None = None
    hem_r: tuple[float, float] | None = None
    hem_l: tuple[float, float] | None = None
    waist_r: tuple[float, float] | None = None
    waist_l: tuple[float, float] | None = None
    crotch: tuple[float, float] | None = None
    leg_hem_r: tuple[float, float] | None = None
    leg_hem_l: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, tuple[float, float]]:
        """Returns the landmarks that exist, by name."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


class Piece(IntEnum):
    """Garment pieces warped separately, as labels in a piece map (0: not garment)."""

    NONE = 0
    TORSO = 1
    SLEEVE_R = 2
    SLEEVE_L = 3
    LEG_R = 4
    LEG_L = 5


@dataclass(frozen=True)
class LimbShape:
    """A sleeve or trouser leg as an axis polyline and its widths.

    Attributes:
        axis: (N, 2) float32 pixels, from the root (shoulder / hip) to the opening.
        widths: (N,) float32 full width of the piece at each axis point, pixels.
    """

    axis: Points
    widths: npt.NDArray[np.float32]


@dataclass(frozen=True)
class GarmentAdapter:
    """A LoRA on the diffusion model's self-attention projections, tuned for one garment
    (``tryon catalog tune``); the ``catvton`` and ``hybrid`` engines apply it to that
    garment's try-ons only.

    Attributes:
        garment: the catalogued garment's id.
        weights: the safetensors file: ``<projection>.lora_A.weight`` (rank x in) and
            ``<projection>.lora_B.weight`` (out x rank) for every self-attention
            projection (``...attn1.to_q``, ``to_k``, ``to_v``, ``to_out.0``).
        digest: SHA-256 of the file's bytes: which adapter this is.
        rank: the LoRA rank r.
        alpha: the LoRA alpha; a projection's output gains ``(alpha / r) B A x``.
        version: the attention weights it was tuned on; the engines apply it only on those.
    """

    garment: str
    weights: Path
    digest: str
    rank: int
    alpha: float
    version: str


@dataclass(frozen=True)
class GarmentAnalysis:
    """A garment photo analysed once; cacheable per garment.

    Attributes:
        image: the garment photo, RGB uint8.
        mask: garment pixels.
        pieces: (H, W) uint8 map of ``Piece`` labels.
        category: what the garment replaces.
        landmarks: named landmarks in the photo.
        limbs: sleeves (tops) or legs (trousers), keyed by ``Piece``.
        source: "product" (flat or ghost-mannequin photo) or "worn" (on a person).
        neck_labels: boxes of the labels inside the back of the neck that a top's front
            neckline shows (``garment.neck_label``); a wearer's neck hides them, so the
            warp paints them over. The photo itself keeps them.
        adapter: the garment's own LoRA for the diffusion engines (attached by the
            catalog when one was tuned; None: the base model).
    """

    image: Image
    mask: Mask
    pieces: npt.NDArray[np.uint8]
    category: Category
    landmarks: GarmentLandmarks
    limbs: dict[Piece, LimbShape]
    source: str = "product"
    neck_labels: tuple[Box, ...] = ()
    adapter: GarmentAdapter | None = None


@dataclass(frozen=True)
class WarpedGarment:
    """The garment moved onto the person, in the person photo's frame.

    Attributes:
        image: garment colours, RGB uint8 (undefined where ``alpha`` is 0).
        alpha: (H, W) float32 coverage in [0, 1], anti-aliased at the edges.
        pieces: (H, W) uint8 ``Piece`` label of the garment pixel drawn on top.
        landmarks: the garment landmarks moved into the person photo.
    """

    image: Image
    alpha: npt.NDArray[np.float32]
    pieces: npt.NDArray[np.uint8]
    landmarks: GarmentLandmarks


@dataclass(frozen=True)
class WarpDetails:
    """What the warp engine (and the hybrid, which starts from it) made on the way.

    Attributes:
        warped: the warped garment in the person's frame.
        shading: (H, W) float32 shading taken from the photo (1 = unchanged).
        fill_mask: (H, W) bool, old-garment pixels uncovered by the new garment, filled in.
    """

    warped: WarpedGarment
    shading: FloatImage
    fill_mask: Mask


@dataclass(frozen=True)
class DiffusionDetails:
    """What a diffusion engine made on the way.

    Attributes:
        generated: (H, W, 3) RGB uint8, the model's raw output at the photo's size
            (before it is blended into the photo through the agnostic mask).
        samples: every try-on the engine drew for this person (fashn's
            ``num_samples``), each (H, W, 3) RGB uint8 and repainted into the photo like
            ``TryOnResult.image``, which is the first; empty from engines that draw one
            (catvton).
    """

    generated: Image
    samples: tuple[Image, ...] = ()


EngineDetails = WarpDetails | DiffusionDetails


@dataclass(frozen=True)
class TryOnResult:
    """A try-on and everything that led to it.

    Every engine fills the same fields; what only one engine makes is in ``details``.

    Attributes:
        image: the person photo wearing the garment, same size as the input.
        agnostic_mask: the pixels the engine was allowed to change; every other pixel of
            ``image`` equals the input's.
        category: the category used (inferred when the caller said "auto").
        timings: seconds per stage, in the order the stages ran.
        person: the person photo as read (RGB, upright).
        body: body analysis of the person.
        garment: the garment analysis used.
        warnings: things the caller should know (several people, a guessed category).
        details: the engine's own intermediates (``WarpDetails`` for ``warp`` and
            ``hybrid``, ``DiffusionDetails`` for ``catvton``).
    """

    image: Image
    agnostic_mask: Mask
    category: Category
    timings: dict[str, float]
    person: Image
    body: BodyAnalysis
    garment: GarmentAnalysis
    warnings: list[str] = field(default_factory=list)
    details: EngineDetails | None = None

    @property
    def warp_details(self) -> WarpDetails:
        """The warp's intermediates.

        Raises:
            ValueError: the engine that made this result warps no garment.
        """
        if not isinstance(self.details, WarpDetails):
            raise ValueError("this try-on was not made by warping the garment (warp or hybrid)")
        return self.details
