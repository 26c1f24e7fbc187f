import CLinux
import Glibc
import LayerAPI
