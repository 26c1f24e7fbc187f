import LayerAPI
