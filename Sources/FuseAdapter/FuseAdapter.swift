import CFuse
import LayerAPI
import OverlayEngine
