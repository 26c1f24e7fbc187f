import Glibc
import LayerAPI
import OverlayEngine

@main
struct Bench {
    static func main() {
        print("shiftoverlay-bench: not yet")
    }
}
